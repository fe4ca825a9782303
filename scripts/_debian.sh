# Sourced by the set-up scripts: Debian packages the tests and the studies read.
#
# install_fashion_mnist installs dataset-fashion-mnist (Fashion-MNIST's IDX
# files, read by the Fashion-MNIST study, its tests and the benchmarks) when it
# is missing ($FASHION_MNIST_DIR, /usr/share/datasets/fashion-mnist);
# install_chromium installs chromium-headless-shell (the browser
# scripts/docs_screenshots.sh looks at the documentation with) when no Chromium
# is on PATH. Each only where apt-get can: as root, or through sudo without a
# password; else it says what is missing and goes on.

_apt_install() {
  local package=$1 needed_by=$2
  if ! command -v apt-get >/dev/null; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi
  $sudo apt-get install -y -qq "$package" >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 \
         && $sudo apt-get install -y -qq "$package" >/dev/null 2>&1; } \
    || echo "could not install $package; $needed_by" >&2
}

install_fashion_mnist() {
  if [ -e "${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}" ]; then
    return 0
  fi
  _apt_install dataset-fashion-mnist "the Fashion-MNIST tests need it"
}

install_chromium() {
  local browser
  for browser in chromium-headless-shell chromium chromium-browser; do
    if command -v "$browser" >/dev/null; then return 0; fi
  done
  _apt_install chromium-headless-shell "the docs screenshots need it"
}
