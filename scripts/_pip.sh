# Sourced by the set-up scripts: pip installs that survive a flaky network.
#
# pip_install PYTHON ARGS...  runs `PYTHON -m pip install --quiet ARGS...`,
# each download retried and, where pip can (pip >= 25.1), resumed where it was
# cut off; when the install still fails, it is run again from the start, up to
# $PIP_INSTALL_TRIES times in all (3), waiting $PIP_INSTALL_WAIT seconds (30)
# times the try's number in between. CI once failed on a 731 MB cuDNN wheel cut
# off at the same byte six times in a row.

pip_install() {
  local python=$1
  shift
  local tries=${PIP_INSTALL_TRIES:-3} wait=${PIP_INSTALL_WAIT:-30}
  local options=(--quiet --retries 10 --timeout 60)
  if "$python" -m pip install --help 2>/dev/null | grep -q -- --resume-retries; then
    options+=(--resume-retries 20)
  fi
  local try
  for ((try = 1; try <= tries; try++)); do
    if "$python" -m pip install "${options[@]}" "$@"; then
      return 0
    fi
    if ((try < tries)); then
      echo "pip install failed (try $try of $tries); trying again in $((wait * try)) s" >&2
      sleep $((wait * try))
    fi
  done
  # A full disk shows up as a download "interrupted" at the same byte on every
  # resume: say how much room there is, so the log tells the two apart.
  echo "pip install failed $tries times: $*" >&2
  df -h "${TMPDIR:-/tmp}" "$(dirname "$python")" >&2 || true
  return 1
}
