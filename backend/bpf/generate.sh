#!/usr/bin/env bash
# generate.sh: rebuild the committed BPF objects and their Go bindings (make generate).
#
# Needs clang-19 and bpftool (bookworm: apt-get install clang-19 bpftool libbpf-dev) and the
# cached sched_ext kernel (experiments/vm/deps.sh). vmlinux.h is not committed (2.8 MB): it
# is dumped from the BTF of that kernel into .cache/vmlinux/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${ALPS_CACHE:-$root/.cache}
for tool in clang-19 bpftool; do
	command -v $tool >/dev/null || { echo "generate: $tool not found (apt-get install clang-19 bpftool libbpf-dev)" >&2; exit 1; }
done
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "generate: libbpf headers not found (apt-get install libbpf-dev)" >&2; exit 1; }
[ -s "$cache/kernel/vmlinuz" ] || bash "$root/experiments/vm/deps.sh"

hdr=$cache/vmlinux
mkdir -p "$hdr"
if [ ! -s "$hdr/vmlinux.h" ] || [ "$hdr/vmlinux.h" -ot "$cache/kernel/vmlinuz" ]; then
	# The Debian vmlinuz is a bzImage whose payload is zstd (magic 28 b5 2f fd).
	python3 - "$cache/kernel/vmlinuz" "$hdr/vmlinux.zst" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\x28\xb5\x2f\xfd')
if i < 0:
    sys.exit('generate: no zstd payload in ' + sys.argv[1])
open(sys.argv[2], 'wb').write(d[i:])
PY
	zstd -dcq "$hdr/vmlinux.zst" >"$hdr/vmlinux" 2>/dev/null || true # trailing bytes after the frame
	bpftool btf dump file "$hdr/vmlinux" format c >"$hdr/vmlinux.h.tmp"
	mv "$hdr/vmlinux.h.tmp" "$hdr/vmlinux.h"
	rm -f "$hdr/vmlinux.zst" "$hdr/vmlinux"
fi

# Include directories of the repository are given relative: the BTF line info records the
# path of every header with code in it (policy/ordering.h), so an absolute path would make the
# objects depend on where the repository is checked out (.ci/generated compares them).
cd "$root/backend"
# -fms-extensions: kernels >= 6.19 use anonymous struct members vmlinux.h reproduces.
# The C types the loaders share with the BPF programs are generated (-type), so the Go side never
# mirrors a struct by hand; -no-global-types because struct sched_ext_ops (function pointers)
# has no Go form.
go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-19 -target bpfel -go-package backend \
	-no-global-types -type knobs -type alps_steps -type entry -type table -type exit_rec -type dump -type counter -type record -type record_kind \
	alps bpf/alps.bpf.c -- -O2 -g -Wall -Wno-microsoft-anon-tag -fms-extensions \
	-I"$hdr" -Ibpf -I../policy -I../invocation
echo "generate: backend/alps_bpfel.go and backend/alps_bpfel.o rebuilt"

# The ordering rule alone, run in the kernel by the VM suite against the vectors.
cd "$root/backend/orderingcheck"
go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-19 -target bpfel -go-package orderingcheck \
	-no-global-types -type vector -type alps_steps check ../bpf/ordering_check.bpf.c -- -O2 -g -Wall -I../../policy -I/usr/include/x86_64-linux-gnu
echo "generate: backend/orderingcheck/check_bpfel.{go,o} rebuilt"

# The tracing-only records for --dry-run on kernels without sched_ext (backend/tracer).
cd "$root/backend/tracer"
go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-19 -target bpfel -go-package tracer \
	-no-global-types -type counter -type record -type record_kind tracer ../bpf/tracer.bpf.c -- -O2 -g -Wall -Wno-microsoft-anon-tag -fms-extensions \
	-I"$hdr" -I../bpf
echo "generate: backend/tracer/tracer_bpfel.{go,o} rebuilt"
