#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: gofmt, go vet, the build
# and vet for Linux, macOS and Windows, and go test -race against the real
# Python worker and the miniature g4f.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
# The build and vet on every system g4fdiag ships for: OS-specific process
# code stays behind build tags (repro/proc_*.go).
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build ./...
	GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go vet ./...
done
G4FDIAG_PYTHON=/usr/bin/python3 go test -race -count=1 -timeout 20m "$@" ./...
