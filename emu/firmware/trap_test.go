package firmware

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/csdk/process"
	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/mem"
)

func newTestGateways(t *testing.T) (*gateways, *mem.Arena) {
	t.Helper()
	a, err := mem.NewArena(mem.FirmwareArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	p, err := process.New(process.Options{ABI: abi.Device, Memory: a, Pend: func(uint32) {},
		Getenv: func(string) string { return "" }, Stderr: &bytes.Buffer{},
		Exit: func(code int) { t.Fatalf("exit %d", code) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	g, err := newGateways(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g, a
}

// Every one of the 72 entry points is dispatched to the call of the same
// name (by its number in abi.Calls), but mvTemporaryStructTest, which has
// none.
func TestEveryGatewayIsDispatchedByNumber(t *testing.T) {
	g, _ := newTestGateways(t)
	calls := abi.Calls()
	n := 0
	for _, gw := range abi.Gateways() {
		nr := g.nr[gw.Slot()]
		switch {
		case gw.Name == abi.TemporaryStructTest:
			if nr != -1 {
				t.Errorf("%s dispatched to %s", gw.Name, calls[nr].Name)
			}
		case nr < 0 || calls[nr].Name != gw.Name:
			t.Errorf("gateway %s (%#x) dispatched to %d", gw.Name, gw.Addr, nr)
		}
		n++
	}
	if n != 72 {
		t.Fatalf("%d gateways, want 72 (spec/firmware.md)", n)
	}
}

// The trap passes r0-r3, writes the status to r0 and returns to lr; an
// address that is no veneer is not a trap.
func TestTrapRunsTheCallAndReturns(t *testing.T) {
	g, a := newTestGateways(t)
	gw, _ := abi.GatewayFor("mvGetSysClk")
	out := mem.FirmwareSRAMBase + 0x40
	c := &cpu.CPU{}
	c.R[0], c.R[1], c.R[14], c.R[15] = uint32(out), 0x1111, 0x0800_0123, gw.Addr&^1
	if !g.trap(c, gw.Addr&^1) {
		t.Fatal("a gateway address was not trapped")
	}
	if c.R[0] != uint32(abi.StatusOkay) || c.R[15] != 0x0800_0122 || c.R[1] != 0x1111 {
		t.Fatalf("r0=%#x pc=%#x r1=%#x; want OKAY, lr without the Thumb bit, r1 kept", c.R[0], c.R[15], c.R[1])
	}
	if b, _ := a.Bytes(out, 4); binary.LittleEndian.Uint32(b) != process.SysClkHz {
		t.Fatalf("mvGetSysClk wrote %x", b)
	}
	c.R[0] = 0 // a null pointer: the call's own status
	if g.trap(c, gw.Addr&^1); c.R[0] != uint32(abi.StatusParameterFault) {
		t.Fatalf("mvGetSysClk(NULL) = %#x", c.R[0])
	}
	tst, _ := abi.GatewayFor(abi.TemporaryStructTest)
	c.R[1] = 0x2222
	if !g.trap(c, tst.Addr) || c.R[0] != uint32(abi.UndeclaredStatus) || c.R[1] != 0x2222 {
		t.Fatalf("%s: r0=%#x r1=%#x", abi.TemporaryStructTest, c.R[0], c.R[1])
	}
	for _, pc := range []uint32{gw.Addr&^1 + 2, abi.GatewayBase + 0x14*abi.GatewayStride, 0x0C1F_0000} {
		if g.trap(c, pc) {
			t.Errorf("%#x trapped", pc)
		}
	}
}

// A handler that tail-calls a system call reaches the gateway with lr =
// EXC_RETURN: the trap returns from the exception instead of branching to
// lr.
func TestTrapTailCalledFromAHandlerReturnsFromTheException(t *testing.T) {
	g, _ := newTestGateways(t)
	var returned uint32
	g.excReturn = func(c *cpu.CPU, v uint32) { returned = v }
	gw, _ := abi.GatewayFor("mvNoOp")
	c := &cpu.CPU{IPSR: 16 + 51}
	c.R[14], c.R[15] = 0xFFFF_FFF9, gw.Addr&^1
	if !g.trap(c, gw.Addr&^1) || c.R[0] != uint32(abi.StatusOkay) || returned != 0xFFFF_FFF9 {
		t.Fatalf("r0=%#x, exception return with %#x", c.R[0], returned)
	}
	// In Thread mode the same value is just an address.
	returned = 0
	c.IPSR = 0
	if g.trap(c, gw.Addr&^1); returned != 0 || c.R[15] != 0xFFFF_FFF8 {
		t.Fatalf("thread mode: exception return %#x, pc %#x", returned, c.R[15])
	}
}

// rawImage writes a raw image for flash: hws are Thumb halfwords placed
// from each offset, words 32-bit words.
func rawImage(tb testing.TB, size int, hws map[int][]uint16, words map[int]uint32) string {
	tb.Helper()
	img := make([]byte, size)
	for off, hs := range hws {
		for i, hw := range hs {
			binary.LittleEndian.PutUint16(img[off+2*i:], hw)
		}
	}
	for off, w := range words {
		binary.LittleEndian.PutUint32(img[off:], w)
	}
	path := filepath.Join(tb.TempDir(), "image.bin")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// On the machine: a PendSV handler that tail-calls mvNoOp (`bx` to the
// gateway with lr = EXC_RETURN) returns to the interrupted thread, which
// then finishes with mvTestingComplete(5). A wrong return would crash
// (exit 70).
func TestTailCalledSystemCallReturnsFromPendSV(t *testing.T) {
	noop, _ := abi.GatewayFor("mvNoOp")
	done, _ := abi.GatewayFor("mvTestingComplete")
	image := rawImage(t, 0x68, map[int][]uint16{
		0x40: {
			0x4804,         // 0x40 ldr r0, [pc, #16] → 0x54: ICSR
			0x4905,         // 0x42 ldr r1, [pc, #20] → 0x58: PENDSVSET
			0x6001,         // 0x44 str r1, [r0]
			0xF3BF, 0x8F6F, // 0x46 isb
			0x4C04, // 0x4A ldr r4, [pc, #16] → 0x5C: mvTestingComplete
			0x2005, // 0x4C movs r0, #5
			0x47A0, // 0x4E blx r4
			0xE7FE, // 0x50 b .
			0xBF00, // 0x52 nop
		},
		0x60: {
			0x4C00, // 0x60 ldr r4, [pc, #0] → 0x64: mvNoOp
			0x4720, // 0x62 bx r4: a tail call, lr = EXC_RETURN
		},
	}, map[int]uint32{
		0x00: 0x2008_0000, // initial SP
		0x04: 0x0800_0041, // Reset_Handler
		0x38: 0x0800_0061, // PendSV (exception 14)
		0x54: 0xE000_ED04, // SCB ICSR
		0x58: 1 << 28,     // ICSR.PENDSVSET
		0x5C: done.Addr,   // mvTestingComplete
		0x64: noop.Addr,   // mvNoOp
	})
	code, _, _ := runImage(t, image, 0x0800_0000)
	if code != 5 {
		t.Fatalf("exit %d, want 5 (70: the exception return went wrong)", code)
	}
}
