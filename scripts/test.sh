#!/usr/bin/env bash
# Install propscan with its test extras, build and test the browser extension, then run the
# test suite. Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_corpus.py -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python -m pip install --quiet -e '.[train,dev]'

# The browser tests (the service's pages, the extension) drive Debian's Chromium through Playwright
# (Playwright's own browser downloads are never used).
if [ ! -x /usr/bin/chromium ]; then
  echo "scripts/test.sh: apt-get install chromium needs root (sudo when not root)" >&2
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

# The browser extension: its npm packages from the lock file, its build (which the
# extension's browser tests load) and its own unit tests.
if ! command -v npm >/dev/null; then
  echo "scripts/test.sh: apt-get install nodejs npm needs root (sudo when not root)" >&2
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
(cd extension && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm test)

python -m pytest -q "$@"
