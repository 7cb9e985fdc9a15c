package mem

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

func newTestArena(t testing.TB, cfg ArenaConfig) *Arena {
	t.Helper()
	a, err := NewArena(cfg)
	if err != nil {
		t.Fatalf("NewArena(%+v): %v", cfg, err)
	}
	return a
}

func TestNewArenaDefaults(t *testing.T) {
	a := newTestArena(t, ArenaConfig{})
	want := ArenaConfig{FlashBase: 0x08000000, FlashSize: 1 << 20, SRAMBase: 0x20000000, SRAMSize: 768 << 10}
	if got := a.Config(); got != want {
		t.Fatalf("Config() = %+v, want %+v", got, want)
	}
}

func TestNewArenaValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ArenaConfig
		ok   bool
	}{
		{"defaults", ArenaConfig{}, true},
		{"adjacent", ArenaConfig{FlashBase: 0x1000, FlashSize: 0x1000, SRAMBase: 0x2000, SRAMSize: 0x1000}, true},
		{"sram at top", ArenaConfig{SRAMBase: 0xFFFF_F000, SRAMSize: 0x1000}, true},
		{"overlap", ArenaConfig{FlashBase: 0x1000, FlashSize: 0x1001, SRAMBase: 0x2000, SRAMSize: 0x1000}, false},
		{"same base", ArenaConfig{FlashBase: 0x2000_0000, SRAMBase: 0x2000_0000}, false},
		{"sram past 32 bits", ArenaConfig{SRAMBase: 0xFFFF_F000, SRAMSize: 0x1001}, false},
		{"flash base past 32 bits", ArenaConfig{FlashBase: 1 << 32}, false},
		{"huge size", ArenaConfig{FlashSize: 1 << 40}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewArena(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewArena: err = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}

// faultKind returns the kind of a *Fault, 0 for nil, and fails on other errors.
func faultKind(t *testing.T, err error) FaultKind {
	t.Helper()
	if err == nil {
		return 0
	}
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *Fault", err, err)
	}
	return f.Kind
}

func TestAccessEdges(t *testing.T) {
	a := newTestArena(t, ArenaConfig{})
	const (
		flash   = 0x0800_0000
		flashSz = 1 << 20
		sram    = 0x2000_0000
		sramSz  = 768 << 10
	)
	tests := []struct {
		name  string
		addr  Addr
		n     uint64
		read  FaultKind // expected fault of CopyIn (0 = success)
		write FaultKind // expected fault of CopyOut and Zero
	}{
		{"first byte of SRAM", sram, 1, 0, 0},
		{"all of SRAM", sram, sramSz, 0, 0},
		{"last byte of SRAM", sram + sramSz - 1, 1, 0, 0},
		{"last 4 bytes of SRAM", sram + sramSz - 4, 4, 0, 0},
		{"one past SRAM", sram + sramSz, 1, Unmapped, Unmapped},
		{"straddles SRAM end", sram + sramSz - 2, 4, Unmapped, Unmapped},
		{"one before SRAM", sram - 1, 1, Unmapped, Unmapped},
		{"straddles SRAM start", sram - 2, 4, Unmapped, Unmapped},
		{"more than SRAM", sram, sramSz + 1, Unmapped, Unmapped},
		{"first byte of flash", flash, 1, 0, ReadOnly},
		{"last byte of flash", flash + flashSz - 1, 1, 0, ReadOnly},
		{"one past flash", flash + flashSz, 1, Unmapped, Unmapped},
		{"straddles flash end", flash + flashSz - 1, 2, Unmapped, Unmapped},
		{"null", 0, 4, Unmapped, Unmapped},
		{"null len 0", 0, 0, 0, 0},
		{"unmapped len 0", 0x4000_0000, 0, 0, 0},
		{"flash len 0", flash, 0, 0, 0},
		{"last byte of address space", 0xFFFF_FFFF, 1, Unmapped, Unmapped},
		{"wrap at 0xFFFFFFFF", 0xFFFF_FFFF, 2, Overflow, Overflow},
		{"wrap at 0xFFFFFFFC", 0xFFFF_FFFC, 8, Overflow, Overflow},
		{"past 32 bits", 1 << 32, 1, Overflow, Overflow},
		{"past 32 bits len 0", 1 << 32, 0, 0, 0},
		{"length wraps 64 bits", sram, ^uint64(0), Overflow, Overflow},
		{"addr near 2^64", Addr(^uint64(0)), 1, Overflow, Overflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.n <= 1<<24 { // CopyIn/CopyOut need a real buffer
				buf := make([]byte, tt.n)
				if got := faultKind(t, a.CopyIn(buf, tt.addr)); got != tt.read {
					t.Errorf("CopyIn: fault %v, want %v", got, tt.read)
				}
				if got := faultKind(t, a.CopyOut(tt.addr, buf)); got != tt.write {
					t.Errorf("CopyOut: fault %v, want %v", got, tt.write)
				}
				_, err := a.Bytes(tt.addr, tt.n)
				if got := faultKind(t, err); got != tt.read {
					t.Errorf("Bytes: fault %v, want %v", got, tt.read)
				}
			}
			if got := faultKind(t, a.Zero(tt.addr, tt.n)); got != tt.write {
				t.Errorf("Zero: fault %v, want %v", got, tt.write)
			}
		})
	}
}

func TestFaultDetails(t *testing.T) {
	a := newTestArena(t, ArenaConfig{})
	err := a.CopyOut(0x0800_0010, []byte{1, 2, 3, 4})
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("CopyOut to flash: %v, want *Fault", err)
	}
	want := Fault{Addr: 0x0800_0010, Len: 4, Write: true, Kind: ReadOnly}
	if *f != want {
		t.Errorf("fault = %+v, want %+v", *f, want)
	}
	msg := f.Error()
	for _, s := range []string{"write", "0x08000010", "0x08000014", "read-only", "4 bytes"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not mention %q", msg, s)
		}
	}
	err = a.CopyIn(make([]byte, 2), 0xFFFF_FFFF)
	if !errors.As(err, &f) || f.Write || f.Kind != Overflow || !strings.Contains(f.Error(), "0xffffffff") {
		t.Errorf("CopyIn wrap: %v", err)
	}
}

func TestCopyRoundTrip(t *testing.T) {
	a := newTestArena(t, ArenaConfig{})
	p := Addr(0x2000_0100)
	data := []byte("hello, microvisor")
	if err := a.CopyOut(p, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := a.CopyIn(got, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("CopyIn = %q, want %q", got, data)
	}
	if err := a.Zero(p+1, 3); err != nil {
		t.Fatal(err)
	}
	b, _ := a.Bytes(p, 5)
	if !bytes.Equal(b, []byte{'h', 0, 0, 0, 'o'}) {
		t.Fatalf("after Zero: %q", b)
	}
	// A faulting CopyIn leaves dst untouched.
	dst := []byte{9, 9, 9}
	if err := a.CopyIn(dst, 0x2000_0000+768<<10-2); err == nil {
		t.Fatal("CopyIn across the end of SRAM succeeded")
	}
	if !bytes.Equal(dst, []byte{9, 9, 9}) {
		t.Fatalf("faulting CopyIn wrote dst: %v", dst)
	}
}

func TestLoadFlash(t *testing.T) {
	a := newTestArena(t, ArenaConfig{FlashSize: 64})
	p, err := a.LoadFlash([]byte("abc"), 1)
	if err != nil || p != 0x0800_0000 {
		t.Fatalf("LoadFlash = %v, %v", p, err)
	}
	q, err := a.LoadFlash([]byte("defg"), 16)
	if err != nil || q != 0x0800_0010 {
		t.Fatalf("LoadFlash aligned = %v, %v", q, err)
	}
	b, err := a.Bytes(q, 4)
	if err != nil || string(b) != "defg" {
		t.Fatalf("Bytes = %q, %v", b, err)
	}
	if err := a.CopyOut(q, []byte("x")); faultKind(t, err) != ReadOnly {
		t.Fatalf("CopyOut to loaded flash: %v", err)
	}
	if _, err := a.LoadFlash(make([]byte, 45), 1); err == nil {
		t.Fatal("LoadFlash past the end of flash succeeded")
	}
	if r, err := a.LoadFlash(make([]byte, 44), 1); err != nil || r != 0x0800_0014 {
		t.Fatalf("LoadFlash filling flash = %v, %v", r, err)
	}
	if _, err := a.LoadFlash(nil, 1); err == nil {
		t.Fatal("LoadFlash into full flash succeeded")
	}
	if _, err := a.LoadFlash(nil, 3); err == nil {
		t.Fatal("LoadFlash with alignment 3 succeeded")
	}
}

func TestProtection(t *testing.T) {
	a := newTestArena(t, ArenaConfig{})
	if _, err := a.Alloc(16, 1); err != nil { // so that p-1 is SRAM
		t.Fatal(err)
	}
	p, err := a.Alloc(1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Protect(p, 512); err != nil {
		t.Fatal(err)
	}
	// Kernel writes on the application's behalf fault inside the range.
	for _, tc := range []struct {
		addr Addr
		n    uint64
		kind FaultKind
	}{
		{p, 1, Protected},
		{p + 511, 1, Protected},
		{p - 1, 2, Protected}, // overlaps the first byte
		{p + 511, 2, Protected},
		{p - 1, 1, 0},
		{p + 512, 512, 0},
	} {
		if got := faultKind(t, a.CopyOut(tc.addr, make([]byte, tc.n))); got != tc.kind {
			t.Errorf("CopyOut(%v, %d): %v, want %v", tc.addr, tc.n, got, tc.kind)
		}
		if got := faultKind(t, a.Zero(tc.addr, tc.n)); got != tc.kind {
			t.Errorf("Zero(%v, %d): %v, want %v", tc.addr, tc.n, got, tc.kind)
		}
	}
	// Reads are allowed.
	if err := a.CopyIn(make([]byte, 512), p); err != nil {
		t.Errorf("CopyIn of protected range: %v", err)
	}
	// The kernel's own writes ignore protection, but not flash or unmapped.
	priv := a.Privileged()
	if err := priv.CopyOut(p+10, []byte{0xAA, 0xBB}); err != nil {
		t.Fatalf("Privileged().CopyOut: %v", err)
	}
	if b, _ := a.Bytes(p+10, 2); !bytes.Equal(b, []byte{0xAA, 0xBB}) {
		t.Fatalf("privileged write not visible: %x", b)
	}
	if err := priv.Zero(p+10, 1); err != nil {
		t.Fatalf("Privileged().Zero: %v", err)
	}
	if got := faultKind(t, priv.CopyOut(0x0800_0000, []byte{1})); got != ReadOnly {
		t.Errorf("Privileged().CopyOut to flash: %v", got)
	}
	if got := faultKind(t, priv.Zero(0x4000_0000, 1)); got != Unmapped {
		t.Errorf("Privileged().Zero unmapped: %v", got)
	}
	buf := make([]byte, 2)
	if err := priv.CopyIn(buf, p+10); err != nil || !bytes.Equal(buf, []byte{0, 0xBB}) {
		t.Errorf("Privileged().CopyIn = %x, %v", buf, err)
	}
	// The application's own store into the range is a crash, recorded once.
	if a.Crashed() != nil {
		t.Fatal("crash recorded before any store")
	}
	err = a.Store(p+4, []byte{1})
	var c *Crash
	if !errors.As(err, &c) || c.Addr != p+4 || c.Len != 1 || !strings.Contains(c.Reason, "protected") {
		t.Fatalf("Store into protected range: %v", err)
	}
	if b, _ := a.Bytes(p+4, 1); b[0] != 0 {
		t.Fatal("crashing Store wrote memory")
	}
	if err := a.Store(0x0800_0000, []byte{1}); err == nil {
		t.Fatal("Store into flash succeeded")
	}
	if got := a.Crashed(); got == nil || *got != *c {
		t.Fatalf("Crashed() = %v, want the first crash %v", got, c)
	}
	// Overlapping and out-of-SRAM protections are refused.
	for _, tc := range []struct {
		addr Addr
		n    uint64
	}{{p + 511, 2}, {p - 1, 2}, {p, 1}, {p + 512, 0}, {0x0800_0000, 16}, {0x2000_0000 + 768<<10 - 4, 8}} {
		if err := a.Protect(tc.addr, tc.n); err == nil {
			t.Errorf("Protect(%v, %d) succeeded", tc.addr, tc.n)
		}
	}
	if err := a.Protect(p+512, 512); err != nil {
		t.Fatalf("adjacent Protect: %v", err)
	}
	// Unprotect takes exactly a protected range and restores writes.
	if err := a.Unprotect(p, 256); err == nil {
		t.Error("Unprotect of part of a range succeeded")
	}
	if err := a.Unprotect(p, 512); err != nil {
		t.Fatal(err)
	}
	if err := a.Unprotect(p, 512); err == nil {
		t.Error("second Unprotect succeeded")
	}
	if err := a.CopyOut(p, []byte{7}); err != nil {
		t.Errorf("CopyOut after Unprotect: %v", err)
	}
	if err := a.Store(p+1, []byte{7}); err != nil {
		t.Errorf("Store after Unprotect: %v", err)
	}
	if err := a.CopyOut(p+512, []byte{7}); faultKind(t, err) != Protected {
		t.Errorf("other range no longer protected: %v", err)
	}
}

func TestStoreLoad(t *testing.T) {
	tests := []struct {
		name  string
		addr  Addr
		n     int
		store string // substring of the crash reason, "" = success
		load  string
	}{
		{"sram", 0x2000_0000, 4, "", ""},
		{"flash", 0x0800_0000, 4, "flash", ""},
		{"unmapped", 0x1000, 4, "unmapped", "unmapped"},
		{"null", 0, 1, "unmapped", "unmapped"},
		{"wrap", 0xFFFF_FFFE, 4, "end of the address space", "end of the address space"},
		{"empty unmapped", 0, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestArena(t, ArenaConfig{})
			check := func(op string, err error, want string) {
				t.Helper()
				if want == "" {
					if err != nil {
						t.Errorf("%s: %v", op, err)
					}
					return
				}
				var c *Crash
				if !errors.As(err, &c) || !strings.Contains(c.Reason, want) {
					t.Errorf("%s: %v, want a crash mentioning %q", op, err, want)
				}
				if a.Crashed() == nil {
					t.Errorf("%s: crash not recorded", op)
				}
			}
			check("Load", a.Load(make([]byte, tt.n), tt.addr), tt.load)
			check("Store", a.Store(tt.addr, make([]byte, tt.n)), tt.store)
		})
	}
	a := newTestArena(t, ArenaConfig{})
	if err := a.Store(0x2000_0010, []byte("data")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if err := a.Load(got, 0x2000_0010); err != nil || string(got) != "data" {
		t.Fatalf("Load = %q, %v", got, err)
	}
	var c *Crash
	if err := a.Load(got, 0x10); !errors.As(err, &c) || !strings.Contains(c.Error(), "application crash") {
		t.Fatalf("Load unmapped: %v", err)
	}
}

// TestConcurrent exercises the Arena from several goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	a := newTestArena(t, ArenaConfig{})
	ring, err := a.Alloc(4096, 512)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			buf := make([]byte, 64)
			for i := range 2000 {
				p := ring + Addr((g*1024+i*64)%4096)
				switch i % 4 {
				case 0:
					_ = a.CopyOut(p, buf)
				case 1:
					_ = a.CopyIn(buf, p)
				case 2:
					_ = a.Privileged().Zero(p, 64)
				case 3:
					if q, err := a.Alloc(32, 8); err == nil {
						_ = a.Store(q, buf[:32])
						_ = a.Free(q)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 500 {
			if err := a.Protect(ring, 512); err == nil {
				_ = a.Unprotect(ring, 512)
			}
		}
	})
	wg.Wait()
}

func BenchmarkCopyOut4(b *testing.B) {
	a := newTestArena(b, ArenaConfig{})
	_ = a.Protect(0x2000_1000, 512) // a realistic protected range to scan
	src := []byte{1, 2, 3, 4}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.CopyOut(0x2000_0100, src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCopyIn4(b *testing.B) {
	a := newTestArena(b, ArenaConfig{})
	dst := make([]byte, 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.CopyIn(dst, 0x2000_0100); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrivilegedCopyOut4(b *testing.B) {
	a := newTestArena(b, ArenaConfig{})
	m := a.Privileged()
	src := []byte{1, 2, 3, 4}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.CopyOut(0x2000_0100, src); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSmallCopiesDoNotAllocate guards the syscall fast path.
func TestSmallCopiesDoNotAllocate(t *testing.T) {
	a := newTestArena(t, ArenaConfig{})
	m := a.Privileged()
	buf := make([]byte, 4)
	allocs := testing.AllocsPerRun(100, func() {
		_ = a.CopyOut(0x2000_0000, buf)
		_ = a.CopyIn(buf, 0x2000_0000)
		_ = a.Zero(0x2000_0000, 4)
		_ = m.CopyOut(0x2000_0000, buf)
	})
	if allocs != 0 {
		t.Fatalf("small copies allocate: %v allocs per run", allocs)
	}
}

func TestCheckMatchesAccessRules(t *testing.T) {
	a, err := NewArena(ArenaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := a.Alloc(1024, 512)
	if err := a.Protect(p, 512); err != nil {
		t.Fatal(err)
	}
	end := Addr(DefaultSRAMBase) + Addr(DefaultSRAMSize)
	cases := []struct {
		name  string
		p     Addr
		n     uint64
		write bool
		ok    bool
	}{
		{"read protected", p, 4, false, true},
		{"write protected", p + 8, 4, true, false},
		{"write after protected", p + 512, 4, true, true},
		{"write flash", DefaultFlashBase, 4, true, false},
		{"read flash", DefaultFlashBase, 4, false, true},
		{"last SRAM byte", end - 1, 1, true, true},
		{"one past SRAM", end - 1, 2, false, false},
		{"unmapped", 0x10, 1, false, false},
		{"wrap", 0xFFFFFFFF, 2, false, false},
		{"empty anywhere", 0x10, 0, true, true},
	}
	for _, c := range cases {
		err := a.Check(c.p, c.n, c.write)
		if (err == nil) != c.ok {
			t.Errorf("%s: Check(%v, %d, %v) = %v, want ok=%v", c.name, c.p, c.n, c.write, err, c.ok)
		}
	}
}
