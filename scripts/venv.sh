# Sourced by app.sh and test.sh: make .venv (once per requirements change) and activate it.
# Usage: . scripts/venv.sh requirements.txt
set -euo pipefail
req="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PLAYGROUND_VENV:-$root/.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp="$venv/.installed-$(basename "$req")"
want="$(cat "$root/requirements.txt" "$root/$req" | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/$req"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"
