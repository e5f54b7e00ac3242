#!/usr/bin/env bash
# native.sh: the simulator's model of the default scheduler, checked natively (make native).
#
# The load generator replays a plan on this machine, under its own kernel's default
# scheduler (no VM), and alps-bench analyze compares each run with alps-sim's cfs on the
# same trace, on the machine each run's calibration measured. Each run calibrates before and
# after its replay; the first calibration sizes the plan. Needs root: the load generator
# runs SCHED_FIFO (arrivals on time), and the whole check runs in a session of its own whose
# autogroup nice is raised, so that the host's other work takes less of the CPUs it measures.
#
#   bash experiments/native.sh [DIR]      (ALPS_NATIVE_LOAD, _SPAN, _ROUNDS, _NICE override)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d /tmp/alps-native-XXXXXX)}
load=${ALPS_NATIVE_LOAD:-0.6}
span=${ALPS_NATIVE_SPAN:-30s}
rounds=${ALPS_NATIVE_ROUNDS:-3}
nice=${ALPS_NATIVE_NICE:--20}
cpus=$(nproc)
export CGO_ENABLED=0
go build -o bin/ ./cmd/alps-bench
go build -ldflags="$(go env GOARCH | grep -qx amd64 && echo -E=main.start)" -o bin/alps-payload ./cmd/alps-payload
mkdir -p "$dir"
start=$(date +%s)
setsid bash -s "$dir" "$load" "$span" "$rounds" "$nice" "$cpus" <<'CHECK'
set -euo pipefail
dir=$1 load=$2 span=$3 rounds=$4 nice=$5 cpus=$6
[ -w /proc/self/autogroup ] && echo "$nice" >/proc/self/autogroup 2>/dev/null || echo "native: could not raise the session's priority" >&2
b=./bin/alps-bench
[ -f "$dir/cal.json" ] || $b calibrate --payload bin/alps-payload --out "$dir/cal.json"
[ -f "$dir/plan.csv" ] || $b plan --calibration "$dir/cal.json" --cores "$cpus" --load "$load" --span "$span" --out "$dir/plan.csv"
for r in $(seq 1 "$rounds"); do
	d=$dir/default/$r
	[ -f "$d/results.csv" ] && continue
	mkdir -p "$d"
	cut -d' ' -f1 /proc/loadavg | sed 's/^/{"load_before": /; s/$/}/' >"$d/host.json"
	$b calibrate --payload bin/alps-payload --out "$d/probe-before.json" >/dev/null
	$b loadgen --trace "$dir/plan.csv" --calibration "$dir/cal.json" --payload bin/alps-payload --links "$dir/fn" \
		--realtime 10 --drain 60s --out "$d/results.csv" --stats "$d/replay.json"
	$b calibrate --payload bin/alps-payload --out "$d/probe-after.json" >/dev/null
done
CHECK
./bin/alps-bench analyze --dir "$dir" --schedulers default --out "$dir/out"
echo "native: $(( $(date +%s) - start ))s, runs in $dir"
