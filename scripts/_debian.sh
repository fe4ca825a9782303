# Sourced by the set-up scripts: Debian packages the tests and the studies read.
#
# install_fashion_mnist installs dataset-fashion-mnist (Fashion-MNIST's IDX
# files, read by the Fashion-MNIST study, its tests and the benchmarks) when it
# is missing ($FASHION_MNIST_DIR, /usr/share/datasets/fashion-mnist) and
# apt-get can: as root, or through sudo without a password.

install_fashion_mnist() {
  if [ -e "${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}" ] \
    || ! command -v apt-get >/dev/null; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi
  $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 \
         && $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
    || echo "could not install dataset-fashion-mnist; the Fashion-MNIST tests need it" >&2
}
