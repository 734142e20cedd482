#!/usr/bin/env bash
# Measures the engine: per-cell overhead with an instantly answering provider
# at --jobs 2 (wall and CPU, Go and Python together), worker start-up, the
# HTTP driver's requests/s and CPU per request against the demo's API server,
# a fresh API server per cell (fork + uvicorn ready, against a new process),
# the wall time of the full demo scan, and a full scan of the scale fixture
# (110 providers in g4f 0.3.5.8's mix) through the engine and through the
# CLI. Prints the figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export G4FDIAG_PYTHON=/usr/bin/python3
go test ./repro -run '^$' -bench 'CellOverhead$|WorkerStart' -benchtime "${BENCHTIME:-300x}" -count "${COUNT:-1}"
# the same cells where workers cannot fork: a worker, g4f import included, per cell
go test ./repro -run '^$' -bench 'CellOverheadNoFork' -benchtime "${NOFORK_BENCHTIME:-20x}" -count "${COUNT:-1}"
go test ./repro -run '^$' -bench 'ScaleMatrix' -benchtime "${SCALE_BENCHTIME:-1x}" -count "${COUNT:-1}"
go test ./repro/apiserver -run '^$' -bench 'DriverAgainstDemoServer' -benchtime "${BENCHTIME:-300x}" -count "${COUNT:-1}"
go test ./repro/apiserver -run '^$' -bench 'ServerStart' -benchtime "${SERVERS:-50x}" -count "${COUNT:-1}"
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

# The scale fixture through the CLI, with GNU time. Its "Maximum resident set
# size" is that of the largest single process (g4fdiag or one worker), not
# the sum over the process tree; BenchmarkScaleMatrix reports the sum.
scan=("$bin" check --demo-scale --python /usr/bin/python3 --include-auth --include-not-working --format json -o /dev/null)
if [ -x /usr/bin/time ]; then
	code=0
	/usr/bin/time -v -o "$(dirname "$bin")/time.txt" "${scan[@]}" || code=$?
	echo "scale scan (exit $code):"
	grep -E 'Elapsed \(wall|User time|System time|Maximum resident' "$(dirname "$bin")/time.txt" | sed 's/^\s*/  /'
else
	echo "scale scan: /usr/bin/time not found (Debian package time); wall time only"
	start=$(date +%s.%N)
	code=0
	"${scan[@]}" || code=$?
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" -v c="$code" 'BEGIN { printf "scale scan: %.2f s wall (exit %d)\n", e - s, c }'
fi
