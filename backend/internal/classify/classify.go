// Package classify is the Go side of bpf/classify.h, which the scheduler (package
// backend) and the tracer (backend/tracer) share: decoding the invocation record, the key
// of the process-name classifier, and access to the classifier and counter maps.
package classify

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Decode decodes one sample of the "records" ring buffer into the bpf2go-generated type of
// struct record (T).
func Decode[T any](sample []byte) (T, error) {
	var r T
	_, err := binary.Decode(sample, binary.NativeEndian, &r)
	return r, err
}

// CommKey is the comm_fn key of a process name (comm, 1 to 15 bytes): the name NUL padded.
func CommKey(comm string) ([16]byte, error) {
	var k [16]byte
	if comm == "" || len(comm) > 15 {
		return k, fmt.Errorf("process name %q: must be 1 to 15 bytes", comm)
	}
	copy(k[:], comm)
	return k, nil
}

// DeleteKey deletes key from m; a key that is not there is no error.
func DeleteKey(m *ebpf.Map, key any) error {
	if err := m.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return err
	}
	return nil
}

// SumCounter reads counter i (a value of the generated enum counter) of the per-CPU
// counters map, summed over the CPUs.
func SumCounter[C ~uint32](m *ebpf.Map, i C) (uint64, error) {
	var perCPU []uint64
	if err := m.Lookup(i, &perCPU); err != nil {
		return 0, err
	}
	var n uint64
	for _, v := range perCPU {
		n += v
	}
	return n, nil
}
