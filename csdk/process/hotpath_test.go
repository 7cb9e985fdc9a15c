//go:build linux

package process

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"
	"unsafe"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/mem"
)

// hostArgs places a call's argument words in memory outside the Go heap, as
// libmvnet's shim does (an array on the C caller's stack).
func hostArgs(hm *hostMem, words ...uint64) *kernel.Args {
	_, b := hm.alloc(int(unsafe.Sizeof(kernel.Args{})))
	a := (*kernel.Args)(unsafe.Pointer(&b[0]))
	copy(a[:], words)
	return a
}

// cheapCall is a call and its argument words in host memory.
type cheapCall struct {
	name string
	args *kernel.Args
}

// cheapCalls are cheap calls of each kind — emulated, kernel with a handle,
// kernel with a clock — each writing its result to out.
func cheapCalls(t testing.TB, p *Process, hm *hostMem, out uint64) []cheapCall {
	net := requestNetwork(t, p, hm)
	return []cheapCall{
		{"mvNoOp", hostArgs(hm)},
		{"mvGetNetworkStatus", hostArgs(hm, net, out)},
		{"mvGetMicroseconds", hostArgs(hm, out)},
		{"mvGetSysClk", hostArgs(hm, out)},
	}
}

// TestCallArgsAllocatesNothing: a cheap call from C — its arguments read in
// place, its result written to host memory — allocates nothing on the Go
// heap (docs/performance.md, the C SDK: an allocation per call, and the
// GC it drove, were most of mvNoOp's cost above cgo's callback).
func TestCallArgsAllocatesNothing(t *testing.T) {
	p, _ := newTestProcess(t, nil)
	hm := newHostMem(t)
	out, ob := hm.alloc(8)
	for _, c := range cheapCalls(t, p, hm, out) {
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
	for _, c := range cheapCalls(b, p, hm, out) {
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

// requestNetwork sets up a notification centre and requests the network,
// returning the network handle (live, whatever its status).
func requestNetwork(t testing.TB, p *Process, hm *hostMem) uint64 {
	t.Helper()
	ring, _ := hm.alloc(8 * abi.NotificationSize)
	setup, sb := hm.alloc(24)
	binary.LittleEndian.PutUint32(sb[0:], 51)
	binary.LittleEndian.PutUint64(sb[8:], ring)
	binary.LittleEndian.PutUint32(sb[16:], 8*abi.NotificationSize)
	hOut, hb := hm.alloc(8)
	if st, err := p.CallByName("mvSetupNotifications", setup, hOut); err != nil || st != abi.StatusOkay {
		t.Fatal(st, err)
	}
	params, pb := hm.alloc(24)
	binary.LittleEndian.PutUint32(pb[0:], 1)
	binary.LittleEndian.PutUint64(pb[8:], binary.LittleEndian.Uint64(hb))
	binary.LittleEndian.PutUint32(pb[16:], 9)
	netOut, nb := hm.alloc(8)
	if st, err := p.CallByName("mvRequestNetwork", params, netOut); err != nil || st != abi.StatusOkay {
		t.Fatal(st, err)
	}
	return binary.LittleEndian.Uint64(nb)
}

// TestGuardedHostWords: the word copies abi's scalar helpers use keep
// guardedHost's checks: a read-only or unmapped word is a fault, not a
// write, and a good one round-trips.
func TestGuardedHostWords(t *testing.T) {
	g := newGuardedHost()
	b, err := syscall.Mmap(-1, 0, 2*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(b) })
	rw := mem.Addr(uintptr(unsafe.Pointer(&b[0])))
	if err := g.CopyOutWord(rw+8, 0x0102030405060708, 8); err != nil {
		t.Fatal(err)
	}
	if v, err := g.CopyInWord(rw+8, 4); err != nil || v != 0x05060708 {
		t.Fatalf("CopyInWord = %#x, %v", v, err)
	}
	if err := syscall.Mprotect(b[4096:], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	var f *mem.Fault
	if err := g.CopyOutWord(rw+4096, 1, 4); !errors.As(err, &f) || f.Kind != mem.ReadOnly {
		t.Fatalf("word write to a read-only page: %v", err)
	}
	if _, err := g.CopyInWord(8, 4); !errors.As(err, &f) || f.Kind != mem.Unmapped {
		t.Fatalf("word read at (void*)8: %v", err)
	}
	if v, err := abi.ReadUint32(g, rw+8); err != nil || v != 0x05060708 {
		t.Fatalf("abi.ReadUint32 through guardedHost = %#x, %v", v, err)
	}
}
