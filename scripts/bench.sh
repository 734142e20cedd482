#!/usr/bin/env bash
# Measures the engine: per-cell overhead with an instantly answering provider
# at --jobs 2 (wall and CPU, Go and Python together), worker start-up, the
# HTTP driver's requests/s and CPU per request against the demo's API server,
# and the wall time of the full demo scan. Prints the figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export G4FDIAG_PYTHON=/usr/bin/python3
go test ./repro -run '^$' -bench 'CellOverhead|WorkerStart' -benchtime "${BENCHTIME:-300x}" -count "${COUNT:-1}"
go test ./repro/apiserver -run '^$' -bench 'DriverAgainstDemoServer' -benchtime "${BENCHTIME:-300x}" -count "${COUNT:-1}"
bin=$(mktemp -d)/g4fdiag
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/g4fdiag
for i in $(seq "${SCANS:-1}"); do
	start=$(date +%s.%N)
	code=0
	"$bin" check --demo --python /usr/bin/python3 --format json --output /dev/null || code=$?
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" -v c="$code" 'BEGIN { printf "full demo scan: %.2f s wall (exit %d)\n", e - s, c }'
done
