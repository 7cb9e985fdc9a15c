//go:build linux

package mem

import (
	"bytes"
	"errors"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

func addrOf(b []byte) Addr { return Addr(uintptr(unsafe.Pointer(&b[0]))) }

// mmapPages maps n anonymous read-write pages outside the Go heap, as C's
// malloc would, and unmaps them at the end of the test (pages already
// unmapped by the test are fine to unmap again).
func mmapPages(t testing.TB, n int) []byte {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, n*hostPage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(b) })
	return b
}

func wantFault(t *testing.T, err error, kind FaultKind) {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a *Fault of kind %v", err, kind)
	}
	if f.Kind != kind {
		t.Fatalf("fault %v: kind %v, want %v", f, f.Kind, kind)
	}
}

func TestHostGoMemory(t *testing.T) {
	h := NewHost()
	b := make([]byte, 64)
	p := addrOf(b)
	if err := h.CopyOut(p+3, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := string(b[3:8]); got != "hello" {
		t.Fatalf("Go memory holds %q after CopyOut", got)
	}
	in := make([]byte, 5)
	if err := h.CopyIn(in, p+3); err != nil || string(in) != "hello" {
		t.Fatalf("CopyIn = %q, %v", in, err)
	}
	if err := h.Zero(p+3, 2); err != nil || !bytes.Equal(b[3:8], []byte{0, 0, 'l', 'l', 'o'}) {
		t.Fatalf("Zero: %v, memory %q", err, b[3:8])
	}
	for _, w := range []bool{false, true} {
		if err := h.Check(p, 64, w); err != nil {
			t.Fatalf("Check(write=%v) of a Go slice: %v", w, err)
		}
	}
	// A stack variable and a large heap object spanning pages.
	var x uint64
	if err := h.CopyOut(Addr(uintptr(unsafe.Pointer(&x))), []byte{1, 2, 3, 4, 5, 6, 7, 8}); err != nil || x != 0x0807060504030201 {
		t.Fatalf("CopyOut to a stack variable: %v, x=%#x", err, x)
	}
	big := make([]byte, 5*hostPage)
	src := bytes.Repeat([]byte{0xa5}, len(big)-7)
	if err := h.CopyOut(addrOf(big)+7, src); err != nil || !bytes.Equal(big[7:], src) {
		t.Fatalf("multi-page CopyOut: %v", err)
	}
	if err := h.Zero(addrOf(big), uint64(len(big))); err != nil || !bytes.Equal(big, make([]byte, len(big))) {
		t.Fatalf("multi-page Zero: %v", err)
	}
	runtime.KeepAlive(b)
	runtime.KeepAlive(big)
}

func TestHostNilAndWildPointers(t *testing.T) {
	h := NewHost()
	buf := []byte{1, 2, 3, 4}
	for _, a := range []Addr{0, 8, 0x1000, HostMinAddr - 4, HostMinAddr - 1} {
		wantFault(t, h.CopyIn(buf, a), Unmapped)
		wantFault(t, h.CopyOut(a, buf), Unmapped)
		wantFault(t, h.Zero(a, 4), Unmapped)
		wantFault(t, h.Check(a, 4, false), Unmapped)
		wantFault(t, h.Check(a, 4, true), Unmapped)
	}
	if !bytes.Equal(buf, []byte{1, 2, 3, 4}) {
		t.Fatalf("faulting CopyIn changed dst: %v", buf)
	}
	// Zero-length accesses succeed anywhere.
	if err := h.CopyIn(nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Check(8, 0, true); err != nil {
		t.Fatal(err)
	}
	// Wrapping past 2^64.
	wantFault(t, h.CopyIn(buf, ^Addr(0)-1), Overflow)
	wantFault(t, h.Check(^Addr(0)-1, 4, false), Overflow)
	// Non-canonical and kernel addresses are not mapped to user space.
	for _, a := range []Addr{0x0000_8000_0000_0000, 0xffff_8000_0000_0000, 0xdead_beef_0000} {
		wantFault(t, h.CopyIn(buf, a), Unmapped)
		wantFault(t, h.CopyOut(a, buf), Unmapped)
		wantFault(t, h.Check(a, 4, false), Unmapped)
	}
}

func TestHostReadOnlyPage(t *testing.T) {
	h := NewHost()
	b := mmapPages(t, 2)
	copy(b[hostPage-2:], "abcd")
	if err := syscall.Mprotect(b[hostPage:], syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	ro := addrOf(b) + hostPage
	wantFault(t, h.Check(ro, 8, true), ReadOnly)
	if err := h.Check(ro, 8, false); err != nil {
		t.Fatalf("read check of a PROT_READ page: %v", err)
	}
	wantFault(t, h.CopyOut(ro, []byte("xy")), ReadOnly)
	wantFault(t, h.Zero(ro, 2), ReadOnly)
	// Straddling the writable and the read-only page: nothing written.
	wantFault(t, h.CopyOut(ro-2, []byte("wxyz")), ReadOnly)
	if got := string(b[hostPage-2 : hostPage+2]); got != "abcd" {
		t.Fatalf("faulting CopyOut wrote: %q", got)
	}
	in := make([]byte, 4)
	if err := h.CopyIn(in, ro-2); err != nil || string(in) != "abcd" {
		t.Fatalf("CopyIn across rw|r pages = %q, %v", in, err)
	}
	// A PROT_NONE page is not even readable.
	if err := syscall.Mprotect(b[hostPage:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	wantFault(t, h.CopyIn(in, ro), Unmapped)
	wantFault(t, h.Check(ro, 1, false), Unmapped)
}

func TestHostUnmappedPage(t *testing.T) {
	h := NewHost()
	b := mmapPages(t, 3)
	base := addrOf(b)
	if err := h.Check(base, 3*hostPage, true); err != nil {
		t.Fatal(err) // caches the three pages as mapped
	}
	// syscall.Munmap only takes whole Mmap results: unmap the middle page
	// directly.
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, uintptr(unsafe.Pointer(&b[hostPage])), hostPage, 0); e != 0 {
		t.Fatal(e)
	}
	hole := base + hostPage
	in := []byte{9, 9, 9, 9}
	// The copy faults by itself, and the fault refreshes the cache.
	wantFault(t, h.CopyIn(in, hole+100), Unmapped)
	if !bytes.Equal(in, []byte{9, 9, 9, 9}) {
		t.Fatalf("faulting CopyIn changed dst: %v", in)
	}
	wantFault(t, h.CopyOut(hole, in), Unmapped)
	wantFault(t, h.Check(hole, 1, false), Unmapped)
	wantFault(t, h.Check(base, 3*hostPage, false), Unmapped)
	// Across the hole: refused by the maps before anything is written.
	copy(b[hostPage-2:hostPage], "ab")
	wantFault(t, h.CopyOut(hole-2, []byte("wxyz")), Unmapped)
	if got := string(b[hostPage-2 : hostPage]); got != "ab" {
		t.Fatalf("CopyOut across a hole wrote %q", got)
	}
	// The pages either side still work.
	if err := h.CopyOut(base+2*hostPage, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if err := h.Check(base, hostPage, true); err != nil {
		t.Fatal(err)
	}
}

func TestHostCheckMissRereads(t *testing.T) {
	h := NewHost()
	if err := h.Check(addrOf(make([]byte, 8)), 8, false); err != nil {
		t.Fatal(err) // fills the cache
	}
	b := mmapPages(t, 1) // mapped after the cache was filled
	if err := h.Check(addrOf(b), hostPage, true); err != nil {
		t.Fatalf("a mapping newer than the cache: %v", err)
	}
}

func TestHostConcurrent(t *testing.T) {
	h := NewHost()
	b := mmapPages(t, 4)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			p := addrOf(b) + Addr(g*hostPage)
			v := []byte{byte(g), 1, 2, 3}
			for i := range 2000 {
				if err := h.CopyOut(p, v); err != nil {
					t.Error(err)
					return
				}
				if i%100 == 0 {
					h.Invalidate()
				}
				if h.CopyIn(v, 8) == nil || h.Check(p, 4, true) != nil {
					t.Error("wrong answer under concurrency")
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func TestParseHostMaps(t *testing.T) {
	in := "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n" +
		"7ffc1000-7ffc3000 rw-p 00000000 00:00 0          [stack]\n" +
		"00651000-00652000 r--p 00051000 08:02 173521      /usr/bin/dbus-daemon\n" +
		"garbage\n" +
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]"
	m := parseHostMaps([]byte(in))
	want := []hostMapping{
		{0x400000, 0x452000, true, false},
		{0x651000, 0x652000, true, false},
		{0x7ffc1000, 0x7ffc3000, true, true},
		{0xffffffffff600000, 0xffffffffff601000, false, false},
	}
	if len(m) != len(want) {
		t.Fatalf("parsed %v", m)
	}
	for i := range want {
		if m[i] != want[i] {
			t.Fatalf("mapping %d = %+v, want %+v", i, m[i], want[i])
		}
	}
	if k := classify(m, 0x452000-4, 8, false); k != Unmapped {
		t.Fatalf("range past a mapping's end: %v", k)
	}
	if k := classify(m, 0x7ffc1000, 0x2000, true); k != 0 {
		t.Fatalf("whole stack: %v", k)
	}
	if k := classify(m, 0x651000, 4, true); k != ReadOnly {
		t.Fatalf("write to r--p: %v", k)
	}
	if k := classify(m, 0xffffffffff600000, 4, false); k != Unmapped {
		t.Fatalf("read of --xp: %v", k)
	}
}

// TestHostMapsHit: the remembered mapping only short-cuts the search;
// every answer equals classify's, whichever mapping was looked up before.
func TestHostMapsHit(t *testing.T) {
	m := []hostMapping{
		{0x1000, 0x3000, true, true}, // below HostMinAddr: never remembered
		{0x10000, 0x20000, true, true},
		{0x20000, 0x30000, true, false},
		{0x40000, 0x50000, true, true},
		{0x50000, 0x51000, false, false},
	}
	var hm hostMaps
	hm.cur.Store(&mapsSnapshot{maps: m})
	addrs := []uint64{0x1000, 0x2ffc, 0x10000, 0x1fffc, 0x20000, 0x2fff0, 0x30000, 0x3ffff, 0x40010, 0x4fffe, 0x50000, 0x60000, 0x8000}
	for _, prev := range addrs {
		for _, a := range addrs {
			for _, n := range []uint64{0, 1, 4, 0x10000, ^uint64(0)} {
				for _, w := range []bool{false, true} {
					hm.cur.Load().classify(prev, 1, false) // remembers prev's mapping
					want := classify(m, a, n, w) == 0 && a >= uint64(HostMinAddr) && n > 0
					if got := hm.hit(Addr(a), n, w); got && !want {
						t.Fatalf("after %#x: hit([%#x, +%#x), write=%v) = true, classify says %v", prev, a, n, w, classify(m, a, n, w))
					}
				}
			}
		}
	}
	hm.cur.Load().classify(0x10000, 1, false)
	if !hm.hit(0x10010, 4, true) || !hm.hit(0x1fffc, 4, false) {
		t.Fatal("no hit in the remembered mapping")
	}
}

func BenchmarkHostCopyOut4(b *testing.B) {
	h := NewHost()
	buf := mmapPages(b, 1)
	p := addrOf(buf) + 64
	v := []byte{1, 2, 3, 4}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.CopyOut(p, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostCopyIn16(b *testing.B) {
	h := NewHost()
	buf := mmapPages(b, 1)
	p := addrOf(buf) + 64
	v := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if err := h.CopyIn(v, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostCheck(b *testing.B) {
	h := NewHost()
	buf := mmapPages(b, 1)
	p := addrOf(buf) + 64
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Check(p, 8, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostFault(b *testing.B) {
	h := NewHost()
	v := make([]byte, 4)
	b.ReportAllocs()
	for b.Loop() {
		if h.CopyIn(v, 0xdead_beef_0000) == nil {
			b.Fatal("no fault")
		}
	}
}
