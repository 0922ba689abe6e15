#!/usr/bin/env bash
# A long fuzzing run: the same Schemathesis and Hypothesis tests as the normal suite,
# with many more examples each (default 500; first argument or $PROPSCAN_FUZZ_EXAMPLES).
# Only the in-process app and temporary files are touched; nothing leaves the machine.
#   bash scripts/fuzz.sh [EXAMPLES] [pytest arguments...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
examples="${1:-${PROPSCAN_FUZZ_EXAMPLES:-500}}"
shift || true
PROPSCAN_FUZZ_EXAMPLES="$examples" exec python -m pytest -q \
  tests/test_service_fuzz.py tests/test_cli_fuzz.py tests/test_cli_fuzz_batch.py "$@"
