//go:build linux

package process

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// The emulator runs the process over an Arena with the device's layout and
// its virtual clock: calls read and write the Arena through 32-bit
// addresses, mvGetMicroseconds and the trace's t follow Options.Monotonic,
// and the kernel gets Exec (it defers what the cloud sends until the
// application's goroutine runs it).
func TestProcessOverArenaWithVirtualTime(t *testing.T) {
	a, err := mem.NewArena(mem.FirmwareArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	virtual := 1234567 * time.Microsecond
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	var queued []func()
	p, err := New(Options{
		ABI: abi.Device, Memory: a, Pend: func(uint32) {},
		Getenv:    func(k string) string { return map[string]string{EnvTrace: trace}[k] },
		Exit:      func(code int) { panic(exitCalled{code}) },
		Stderr:    &bytes.Buffer{},
		Monotonic: func() time.Duration { return virtual },
		Exec:      func(fn func()) { queued = append(queued, fn) },
		Seed:      &[32]byte{7},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if p.StartedKernel() != nil {
		t.Fatal("a kernel before any call")
	}
	out := mem.FirmwareSRAMBase + 0x100
	if st := call(t, p, "mvGetSysClk", uint64(out)); st != abi.StatusOkay {
		t.Fatalf("mvGetSysClk = %v", st)
	}
	if b, _ := a.Bytes(out, 4); binary.LittleEndian.Uint32(b) != SysClkHz {
		t.Fatalf("mvGetSysClk wrote %x into the Arena", b)
	}
	if st := call(t, p, "mvGetSysClk", uint64(mem.FirmwareFlashBase)); st != abi.StatusParameterFault {
		t.Fatalf("mvGetSysClk(flash) = %v", st)
	}
	if st := call(t, p, "mvGetMicroseconds", uint64(out)); st != abi.StatusOkay {
		t.Fatalf("mvGetMicroseconds = %v", st)
	}
	if b, _ := a.Bytes(out, 8); binary.LittleEndian.Uint64(b) != 1234567 {
		t.Fatalf("mvGetMicroseconds wrote %d, want the virtual 1234567", binary.LittleEndian.Uint64(b))
	}
	if p.StartedKernel() == nil {
		t.Fatal("mvGetMicroseconds started no kernel")
	}
	var saw bool
	for _, l := range readTrace(t, trace) {
		if l["call"] == "mvGetMicroseconds" {
			saw = true
			if l["t"] != float64(1234567) {
				t.Fatalf("trace t = %v, want the virtual 1234567", l["t"])
			}
		}
	}
	if !saw {
		t.Fatal("no trace line for mvGetMicroseconds")
	}
}

// The trace reads back a 1-byte enum the call wrote on the device ABI as
// one byte: the three bytes after it are the application's, not the
// enum's (mvGetWakeReason used to show as a number such as 2356224).
func TestTraceReadsShortEnumsAsOneByte(t *testing.T) {
	a, err := mem.NewArena(mem.FirmwareArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, err := New(Options{
		ABI: abi.Device, Memory: a, Pend: func(uint32) {},
		Getenv: func(k string) string { return map[string]string{EnvTrace: trace}[k] },
		Exit:   func(code int) { panic(exitCalled{code}) },
		Stderr: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	out := mem.FirmwareSRAMBase + 0x200
	if err := a.CopyOut(out, []byte{0xaa, 0x23, 0x24, 0x25}); err != nil {
		t.Fatal(err)
	}
	if st := call(t, p, "mvGetWakeReason", uint64(out)); st != abi.StatusOkay {
		t.Fatalf("mvGetWakeReason = %v", st)
	}
	if b, _ := a.Bytes(out, 4); !bytes.Equal(b, []byte{0, 0x23, 0x24, 0x25}) {
		t.Fatalf("mvGetWakeReason wrote % x, want one byte", b)
	}
	var got any
	for _, l := range readTrace(t, trace) {
		if l["call"] == "mvGetWakeReason" {
			if o, ok := l["out"].(map[string]any); ok {
				for _, v := range o {
					got = v
				}
			}
		}
	}
	if got != "MV_WAKEREASON_COLDBOOT" {
		t.Fatalf("trace shows the wake reason as %v, want MV_WAKEREASON_COLDBOOT", got)
	}
}
