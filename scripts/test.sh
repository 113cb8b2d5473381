#!/usr/bin/env bash
# Set up (once) and run the whole test suite: unit, app (HTTP API) and browser tests, all offline.
# Installs Debian's chromium and dataset-fashion-mnist when run as root (or with sudo) and missing.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k registry`.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
[ -d /usr/share/doc/opencv-doc/examples/data ] || need+=(opencv-doc)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null \
      || echo "could not install ${need[*]} (needs root); tests that need them will fail or skip" >&2
  fi
fi
. "$(dirname "$0")/venv.sh" requirements-dev.txt
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec python -m pytest "$@"
