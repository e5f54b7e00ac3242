package invocation

import (
	"debug/elf"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// The benchmarks measure one boundary (a start or an end; each op marks both) by the three
// mechanisms considered (experiments/warm.md): (b) the chosen one, stores into the thread's
// area; (a) one bpf() update of a task-storage map through a pidfd of the thread; (c) a
// uprobe on a function the runtime calls, running a BPF program that does nothing (the least
// a uprobe costs). (a) and (c) need root.

// BenchmarkBoundaryStores: mechanism (b), Thread.Start and Thread.End.
func BenchmarkBoundaryStores(b *testing.B) {
	t := NewThread()
	defer t.Close()
	for b.Loop() {
		t.Start(3)
		t.End()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/boundary")
}

// BenchmarkBoundaryMapUpdate: mechanism (a), one bpf(BPF_MAP_UPDATE_ELEM) per boundary on a
// task-storage map keyed by a pidfd of the calling thread (opened once).
func BenchmarkBoundaryMapUpdate(b *testing.B) {
	needRoot(b)
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: "alps_inv_bench", Type: ebpf.TaskStorage, KeySize: 4, ValueSize: 16, Flags: unix.BPF_F_NO_PREALLOC,
		Key: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed},
		Value: &btf.Struct{Name: "alps_inv_event", Size: 16, Members: []btf.Member{
			{Name: "time", Type: &btf.Int{Name: "u64", Size: 8}},
			{Name: "kind", Type: &btf.Int{Name: "u32", Size: 4}, Offset: 64},
			{Name: "class", Type: &btf.Int{Name: "u32", Size: 4}, Offset: 96},
		}},
	})
	if err != nil {
		b.Skipf("task-storage map: %v", err)
	}
	defer m.Close()
	t := NewThread()
	defer t.Close()
	pidfd, err := unix.PidfdOpen(unix.Gettid(), unix.PIDFD_THREAD)
	if err != nil {
		b.Skipf("pidfd: %v", err)
	}
	defer unix.Close(pidfd)
	key := uint32(pidfd)
	ev := Event{Kind: KindStart, Class: 3}
	for b.Loop() {
		ev.Time, ev.Kind = uint64(nanotime()), KindStart
		if err := m.Update(key, ev, ebpf.UpdateAny); err != nil {
			b.Fatal(err)
		}
		ev.Time, ev.Kind = uint64(nanotime()), KindEnd
		if err := m.Update(key, ev, ebpf.UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/boundary")
}

// probeMark is the function a runtime would call at a boundary under mechanism (c).
//
//go:noinline
func probeMark(kind, class uint32) uint32 { return kind + class }

// BenchmarkBoundaryUprobe: mechanism (c), a uprobe on probeMark running an empty program.
func BenchmarkBoundaryUprobe(b *testing.B) {
	needRoot(b)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "alps_inv_probe", Type: ebpf.Kprobe, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		b.Skipf("uprobe program: %v", err)
	}
	defer prog.Close()
	exe, err := link.OpenExecutable("/proc/self/exe")
	if err != nil {
		b.Skipf("executable: %v", err)
	}
	// go test strips the ELF symbol table: the probe goes at probeMark's file offset.
	off, err := fileOffset(reflect.ValueOf(probeMark).Pointer())
	if err != nil {
		b.Skipf("probeMark: %v", err)
	}
	l, err := exe.Uprobe("", prog, &link.UprobeOptions{Address: off})
	if err != nil {
		b.Skipf("uprobe: %v", err)
	}
	defer l.Close()
	var sink uint32
	for b.Loop() {
		sink += probeMark(KindStart, 3)
		sink += probeMark(KindEnd, 0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/boundary")
	_ = sink
}

// fileOffset converts a virtual address of this (static, non-PIE) executable to its offset in
// the file.
func fileOffset(addr uintptr) (uint64, error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && uint64(addr) >= p.Vaddr && uint64(addr) < p.Vaddr+p.Filesz {
			return uint64(addr) - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("address %#x in no executable segment", addr)
}

func needRoot(b *testing.B) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root (BPF)")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		b.Skipf("memlock: %v", err)
	}
}
