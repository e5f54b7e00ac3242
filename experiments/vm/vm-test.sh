#!/usr/bin/env bash
# vm-test.sh: make vm-test. The kernel tests (the Go tests named TestKernel*) run as go test
# binaries in one boot of the cached Debian sched_ext kernel under qemu (TCG); the tests named
# TestNoSchedExt* run on this host when it has no sched_ext. See experiments/vm/vmtest.
# Results: experiments/results/vm-test.json; guest console: .cache/vmtest/vm-test.log.
# Needs experiments/vm/deps.sh to have run (make vm-test does it); no clang. Arguments go to
# vmtest (e.g. -run TestKernelRecords ./backend).
set -euo pipefail
cd "$(dirname "$0")/../.."
CGO_ENABLED=0 go build -o .cache/vmtest/vmtest ./experiments/vm/vmtest
exec .cache/vmtest/vmtest "$@"
