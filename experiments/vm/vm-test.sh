#!/usr/bin/env bash
# vm-test.sh: the backend's VM suite (make vm-test).
#
# Test 7 runs here on the host when it has no sched_ext: the loader must print one clear
# line and exit non-zero. Tests 1-6 and the performance check run in ONE boot of the
# cached Debian sched_ext kernel under qemu (TCG) via experiments/vm/vmrun; the guest
# program is experiments/vm/guest (alps-vmtest). Results: experiments/results/vm-test.json.
# Needs experiments/vm/deps.sh to have run (make vm-test does it); no clang.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$root/.cache/vmtest
mkdir -p "$bin" experiments/results
start=$(date +%s)
CGO_ENABLED=0 go build -o "$bin/" ./experiments/vm/guest ./experiments/vm/vmrun
mv -f "$bin/guest" "$bin/alps-vmtest"

fail=0
# Test 7: a host without sched_ext.
if [ ! -e /sys/kernel/sched_ext ]; then
	set +e
	"$bin/alps-vmtest" load >"$bin/t7.out" 2>"$bin/t7.err"
	rc=$?
	set -e
	lines=$(wc -l <"$bin/t7.err")
	if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q 'sched_ext' "$bin/t7.err"; then
		echo "PASS vm-test 7 (no sched_ext, on the host): exit $rc, one line: $(cat "$bin/t7.err")"
	else
		echo "FAIL vm-test 7 (no sched_ext, on the host): exit $rc, $lines stderr line(s):"
		cat "$bin/t7.err"
		fail=1
	fi
else
	echo "SKIP vm-test 7: this host has sched_ext"
fi

# Tests 0 (ordering.h in the kernel), 1-6 and perf in the VM; the guest console goes to vm-test.log, its verdicts here.
set +e
"$bin/vmrun" -file /bin/alps-vmtest="$bin/alps-vmtest" -out "$bin/out" -timeout 15m \
	-cmd 'alps-vmtest suite; rc=$?; send /tmp/vmtest.json; exit $rc' >"$bin/vm-test.log" 2>&1
rc=$?
set -e
grep -E '^(PASS|FAIL|SKIP|SUMMARY) vm-test|^vmrun:' "$bin/vm-test.log" || true
[ -f "$bin/out/vmtest.json" ] && cp "$bin/out/vmtest.json" experiments/results/vm-test.json
if [ $rc -ne 0 ]; then
	echo "vm-test: the VM suite failed (exit $rc); guest console: $bin/vm-test.log" >&2
	grep -vE '^(PASS|SUMMARY) vm-test' "$bin/vm-test.log" | tail -40 >&2
	fail=1
fi
echo "vm-test: $(( $(date +%s) - start )) s"
exit $fail
