# Sourced by scripts/serve and scripts/test: a virtual environment with the project installed.
# SCREENER_EXTRAS names the optional dependencies to add: scripts/serve installs only what
# serving needs (none), scripts/test sets "test". Re-installs only when pyproject.toml changed or
# extras are missing (a virtual environment installed for the tests serves as it is). The Debian packages the PDF copies need come
# first (scripts/pdf-deps.sh): serving needs them as much as testing does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/pdf-deps.sh

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Screener needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  "$PYTHON" -m venv .venv
fi
# The stamp holds pyproject.toml's hash, then the extras installed with it ("-" for none).
stamp=.venv/.screener-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
extras=${SCREENER_EXTRAS:-}
read -r have have_extras < "$stamp" 2>/dev/null || true
if [ "${have:-}" != "$want" ] || { [ -n "$extras" ] && [ "${have_extras:-}" != "$extras" ]; }; then
  echo "Installing Screener and its dependencies${extras:+ (with the $extras tools)} ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  echo "$want ${extras:--}" > "$stamp"
fi
unset have have_extras
export PATH="$PWD/.venv/bin:$PATH"
scripts/i18n compile >/dev/null
