#!/usr/bin/env bash
# Install propscan with its test extras, then run the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_corpus.py -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python -m pip install --quiet -e '.[train,dev]'

python -m pytest -q "$@"
