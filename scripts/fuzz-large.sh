#!/usr/bin/env bash
# The large generated hostile-input run (docs/security.md): the suite of tests/gateway/test_fuzz.py
# with TURNKEY_FUZZ_EXAMPLES examples per case (default 600: about 10,800 requests through the
# gateway and straight at the four subgraphs, as admin, partner and customer), embedded leg.
# Every answer must be JSON below 500, none may be a masked internal error (TURNKEY_FUZZ_STRICT),
# and no rejected mutation may change anything (the audit log counts every write). Prints each
# case's tally and the total. Takes about 25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURNKEY_FUZZ_EXAMPLES="${TURNKEY_FUZZ_EXAMPLES:-600}" TURNKEY_FUZZ_STRICT=1
exec .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/gateway/test_fuzz.py -k "not servers"
