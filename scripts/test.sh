#!/usr/bin/env bash
# Install propscan with its test extras, then run the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_corpus.py -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python -m pip install --quiet -e '.[train,dev]'

# The service's browser test drives Debian's Chromium through Playwright
# (Playwright's own browser downloads are never used).
if [ ! -x /usr/bin/chromium ]; then
  echo "scripts/test.sh: apt-get install chromium needs root (sudo when not root)" >&2
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

python -m pytest -q "$@"
