# Sourced by scripts/test and scripts/demo: make .venv (once) and install into it.
# Usage: ensure_venv EXTRAS   (e.g. "dev" or "sandbox")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

ensure_venv() {
  local extras="$1"
  if [ ! -x "$PY" ]; then
    local base=""
    for candidate in python3.13 python3.12 python3.11 python3.10 python3; do
      # Under pyenv, `command -v` also finds the shim of a version that is not
      # installed (or not selected); running it prints "pyenv: ... not found":
      # probe the interpreter itself, quietly.
      if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
          >/dev/null 2>&1; then
        base="$candidate"
        break
      fi
    done
    if [ -z "$base" ]; then
      echo "error: Python >= 3.10 is needed (none of python3.10..3.13 found)" >&2
      exit 2
    fi
    echo "==> creating .venv with $base"
    "$base" -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip
  fi
  # Re-install only when pyproject.toml changed since the last install.
  local stamp="$VENV/.nuvera-installed-$extras"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "==> installing nuvera-client[$extras] (editable)"
    "$PY" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extras]"
    touch "$stamp"
  fi
}
