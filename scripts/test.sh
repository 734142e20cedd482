#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: gofmt, go vet, and
# go test -race against the real Python worker and the miniature g4f.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
G4FDIAG_PYTHON=/usr/bin/python3 go test -race -count=1 -timeout 20m "$@" ./...
