//go:build linux

package process

import (
	"testing"
	"unsafe"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
)

// hostArgs places a call's argument words in memory outside the Go heap, as
// libmvnet's shim does (an array on the C caller's stack).
func hostArgs(hm *hostMem, words ...uint64) *kernel.Args {
	_, b := hm.alloc(int(unsafe.Sizeof(kernel.Args{})))
	a := (*kernel.Args)(unsafe.Pointer(&b[0]))
	copy(a[:], words)
	return a
}

// TestCallArgsAllocatesNothing: a cheap call from C — its arguments read in
// place, its result written to host memory — allocates nothing on the Go
// heap (docs/performance.md: a cheap system call from C; an allocation per
// call was a third of mvNoOp's cost above cgo's callback, plus the GC it
// drove).
func TestCallArgsAllocatesNothing(t *testing.T) {
	p, _ := newTestProcess(t, nil)
	hm := newHostMem(t)
	out, ob := hm.alloc(8)
	for _, c := range []struct {
		name string
		args *kernel.Args
	}{
		{"mvNoOp", hostArgs(hm)},
		{"mvGetMicroseconds", hostArgs(hm, out)},
		{"mvGetSysClk", hostArgs(hm, out)},
	} {
		nr := callIndex(c.name)
		if st := p.CallArgs(nr, c.args); st != abi.StatusOkay { // starts the kernel
			t.Fatalf("%s: %v", c.name, st)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if st := p.CallArgs(nr, c.args); st != abi.StatusOkay {
				t.Fatalf("%s: %v", c.name, st)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per call, want 0", c.name, allocs)
		}
	}
	if ob[0] == 0 && ob[1] == 0 && ob[2] == 0 && ob[3] == 0 {
		t.Fatal("the calls wrote nothing to host memory")
	}
}

// BenchmarkCallArgs is the Go side of a cheap call from C, without cgo:
// dispatch, kernel, host memory checks and copies (csdk/sdktest's
// BenchmarkSyscallFromC measures the whole path from C). Profile it with
// -cpuprofile.
func BenchmarkCallArgs(b *testing.B) {
	p, _ := newTestProcess(b, nil)
	hm := newHostMem(b)
	out, _ := hm.alloc(8)
	for _, c := range []struct {
		name string
		args *kernel.Args
	}{
		{"mvNoOp", hostArgs(hm)},
		{"mvGetMicroseconds", hostArgs(hm, out)},
	} {
		nr := callIndex(c.name)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if st := p.CallArgs(nr, c.args); st != abi.StatusOkay {
					b.Fatal(st)
				}
			}
		})
	}
}
