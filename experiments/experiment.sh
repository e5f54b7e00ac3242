#!/usr/bin/env bash
# experiment.sh: make demo's experiment over loads and seeds (make experiment; not in CI).
# Boots the VM once per load, seed and scheduler (alps-bench experiment: 0.5, 0.7, 0.85 and
# 0.95 x seeds 1-3 x default, vtime, alps, one round each: 36 boots, about 40 minutes with the
# kernel cached), resumes from ALPS_RUNS if given, and writes experiments/results/experiment.*
# and experiment_*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
start=$(date +%s)
go build -o bin/ ./cmd/alps-bench
./bin/alps-bench experiment --out experiments/results --runs "${ALPS_RUNS:-$(mktemp -d)}" "$@"
echo "experiment: $(( $(date +%s) - start ))s"
