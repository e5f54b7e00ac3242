#!/usr/bin/env bash
# demo.sh: the end-to-end experiment. Boots a sched_ext kernel in qemu once per scheduler
# (the kernel's default, alps's backend with learning off = vtime, and alps with its daemon),
# replays the same Azure-like trace with real processes, and prints the measured figures
# beside the simulator's prediction. Writes experiments/results/latest.json and figures.
#   bash experiments/demo.sh [--short]
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
start=$(date +%s)
go build -o bin/ ./cmd/alps-bench
./bin/alps-bench run --out experiments/results --runs "${ALPS_RUNS:-$(mktemp -d)}" "$@"
echo "demo: $(( $(date +%s) - start ))s"
