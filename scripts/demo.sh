#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and scans the embedded miniature g4f with the
# Debian interpreter. Extra arguments go to `g4fdiag check`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec go run -buildvcs=true ./cmd/g4fdiag check --demo --python /usr/bin/python3 "$@"
