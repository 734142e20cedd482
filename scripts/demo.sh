#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds g4fdiag once into bin/, and scans the
# embedded miniature g4f with the Debian interpreter. Extra arguments go to
# `g4fdiag check`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "building g4fdiag into bin/ (the first build takes a minute) ..." >&2
go build -buildvcs=true -o bin/g4fdiag ./cmd/g4fdiag
code=0
bin/g4fdiag check --demo --python /usr/bin/python3 "$@" || code=$?
case $code in
0) echo "exit 0: no loop failure found" >&2 ;;
1) echo "exit 1: loop failures found, as expected for the demo, whose providers fail on purpose (g4fdiag --help lists the exit codes)" >&2 ;;
*) echo "exit $code: see the message above (g4fdiag --help lists the exit codes)" >&2 ;;
esac
exit $code
