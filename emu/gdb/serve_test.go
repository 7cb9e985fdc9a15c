package gdb

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestQSupportedAndNoAckMode(t *testing.T) {
	srv := startServer(t, newFakeTarget())
	c := dial(t, srv.addr)
	got := c.do("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+")
	for _, want := range []string{"PacketSize=4000", "qXfer:features:read+", "swbreak+", "hwbreak+", "vContSupported+", "QStartNoAckMode+"} {
		if !strings.Contains(got, want) {
			t.Errorf("qSupported reply %q lacks %q", got, want)
		}
	}
	c.expect("vMustReplyEmpty", "")
	c.startNoAck()
	// From now on neither side acknowledges: the reply comes straight.
	c.expect("qAttached", "1")
	c.expect("qC", "QC1")
	c.expect("qfThreadInfo", "m1")
	c.expect("qsThreadInfo", "l")
	c.expect("Hg0", "OK")
	c.expect("Hc-1", "OK")
	c.expect("qOffsets", "Text=0;Data=0;Bss=0")
	c.expect("qTStatus", "")
	c.expect("?", "T02thread:1;")
}

func TestBadChecksumIsNackedAndResent(t *testing.T) {
	srv := startServer(t, newFakeTarget())
	c := dial(t, srv.addr)
	c.write("$qC#00")
	c.expectByte('-')
	c.expect("qC", "QC1")
	// A reply the debugger rejects is sent again.
	c.send("qC")
	if first := c.recvFrame(); first != "QC1" {
		t.Fatalf("reply %q", first)
	}
	c.write("-")
	if again := c.recv(); again != "QC1" {
		t.Fatalf("resent reply %q, want QC1", again)
	}
}

type xmlTarget struct {
	Arch     string `xml:"architecture"`
	Features []struct {
		Name string `xml:"name,attr"`
		Regs []struct {
			Name    string `xml:"name,attr"`
			Bitsize int    `xml:"bitsize,attr"`
			Regnum  int    `xml:"regnum,attr"`
		} `xml:"reg"`
	} `xml:"feature"`
}

func TestTargetDescriptionInChunks(t *testing.T) {
	srv := startServer(t, newFakeTarget())
	c := dial(t, srv.addr)
	c.startNoAck()
	var doc strings.Builder
	for off := 0; ; off += 0x40 {
		r := c.do(fmt.Sprintf("qXfer:features:read:target.xml:%x,40", off))
		if r == "" || (r[0] != 'm' && r[0] != 'l') {
			t.Fatalf("chunk at %#x: %q", off, r)
		}
		doc.WriteString(string(unescape([]byte(r[1:]))))
		if r[0] == 'l' {
			break
		}
	}
	if doc.String() != targetXML {
		t.Fatalf("reassembled description differs:\n%s", doc.String())
	}
	var x xmlTarget
	if err := xml.Unmarshal([]byte(doc.String()), &x); err != nil {
		t.Fatal(err)
	}
	var names []string
	want := map[string]string{"org.gnu.gdb.arm.m-profile": "r0", "org.gnu.gdb.arm.m-system": "msp", "org.mvnet.arm.m-special": "primask"}
	for _, f := range x.Features {
		if want[f.Name] == "" || f.Regs[0].Name != want[f.Name] {
			t.Errorf("feature %q starting with %q", f.Name, f.Regs[0].Name)
		}
		for _, r := range f.Regs {
			if r.Regnum != len(names) || r.Bitsize != 32 {
				t.Errorf("register %s: regnum %d bitsize %d, want regnum %d bitsize 32", r.Name, r.Regnum, r.Bitsize, len(names))
			}
			names = append(names, r.Name)
		}
	}
	if got := strings.Join(names, " "); got != "r0 r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11 r12 sp lr pc xpsr msp psp primask basepri faultmask control" {
		t.Errorf("registers %s", got)
	}
	c.expect("qXfer:features:read:other.xml:0,40", "E00")
	c.expect(fmt.Sprintf("qXfer:features:read:target.xml:%x,40", len(targetXML)), "l")
}

func TestEscapeRoundTrip(t *testing.T) {
	in := []byte("a$b#c}d*e\x03")
	if got := unescape(escape(in)); string(got) != string(in) {
		t.Fatalf("round trip %q -> %q", in, got)
	}
	if got := string(escape([]byte("$#}*"))); got != "}\x04}\x03}]}\x0a" {
		t.Fatalf("escape = %q", got)
	}
}

func TestRegisters(t *testing.T) {
	f := newFakeTarget()
	_, c := connect(t, f)
	g := c.do("g")
	if len(g) != int(NumRegs)*8 {
		t.Fatalf("g reply is %d hex digits, want %d", len(g), NumRegs*8)
	}
	// Little-endian: r1 = 0x01010101, pc = 0x08000100, basepri = 0x40.
	if g[8:16] != "01010101" || g[PC*8:PC*8+8] != "00010008" || g[BASEPRI*8:BASEPRI*8+8] != "40000000" {
		t.Fatalf("g = %s", g)
	}
	c.expect("p0f", "00010008")
	c.expect("p10", "00000001") // xpsr: T bit
	c.expect("p11", "00100020") // msp
	c.expect("p17", "E01")      // no register 23
	c.expect("pzz", "E01")
	// PC written with the Thumb bit keeps it clear.
	c.expect("P0f=05020008", "OK")
	c.expect("p0f", "04020008")
	c.expect("P13=02000000", "E01") // the target refuses PRIMASK=2
	c.expect("P13=01000000", "OK")
	// G writes every register given.
	c.expect("G"+strings.Repeat("78563412", int(NumRegs)), "E01") // PRIMASK refused
	regs := strings.Repeat("78563412", int(PRIMASK)) + "01000000" + strings.Repeat("78563412", int(NumRegs-PRIMASK-1))
	c.expect("G"+regs, "OK")
	got, _, _ := f.snapshot()
	for r := R0; r < NumRegs; r++ {
		want := uint32(0x12345678)
		if r == PC {
			want &^= 1
		}
		if r == PRIMASK {
			want = 1
		}
		if got[r] != want {
			t.Errorf("after G, %s = %#x", regNames[r], got[r])
		}
	}
	c.expect("G123", "E01")
}

func TestMemory(t *testing.T) {
	f := newFakeTarget()
	_, c := connect(t, f)
	c.expect("m20000000,8", "1111111122222222")
	c.expect("m8000000,4", "00010203")
	c.expect("m0,4", "E01")
	c.expect("m20000ffe,4", "E01") // runs off the end of SRAM
	c.expect("M20000000,2:abcd", "OK")
	c.expect("m20000000,2", "abcd")
	c.expect("M20000000,2:ab", "E01") // length mismatch
	c.expect("M30000000,1:00", "E01")
	// X carries binary with '}'-escapes for $ # } *.
	raw := []byte{'$', '#', '}', '*', 0, 0xff}
	c.expect("X20000010,0:", "OK")
	c.expect("X20000010,6:"+string(escape(raw)), "OK")
	c.expect("m20000010,6", hex.EncodeToString(raw))
	c.expect("X30000000,1:a", "E01")
	// A read longer than a packet holds comes back shortened.
	if r := c.do("m8000000,4000"); len(r) != maxPacket {
		t.Fatalf("long read returned %d hex digits, want %d", len(r), maxPacket)
	}
}

func TestBreakpointsAndStep(t *testing.T) {
	f := newFakeTarget()
	_, c := connect(t, f)
	c.expect("Z0,8000110,2", "OK")
	c.expect("Z0,8000110,2", "OK") // idempotent
	c.expect("Z1,8000110,2", "OK") // both kinds at one address: one emulator breakpoint
	c.expect("Z1,8000120,2", "OK")
	c.expect("Z1,9000000,2", "E01") // the target refuses
	if _, b, _ := f.snapshot(); b[0x8000110] != 1 || b[0x8000120] != 1 || len(b) != 2 {
		t.Fatalf("target breakpoints %v", b)
	}
	c.expect("c", "T05swbreak:;thread:1;")
	c.expect("p0f", "10010008")
	c.expect("s", "T05thread:1;")
	c.expect("p0f", "12010008")
	c.expect("vCont?", "vCont;c;C;s;S")
	c.expect("vCont;c", "T05hwbreak:;thread:1;")
	c.expect("vCont;s:1;c", "T05thread:1;")
	c.expect("p0f", "22010008")
	c.expect("z1,8000120,2", "OK")
	c.expect("z0,8000110,2", "OK")
	if _, b, _ := f.snapshot(); b[0x8000110] != 1 {
		t.Fatalf("removing one kind cleared the address: %v", b)
	}
	c.expect("z1,8000110,2", "OK")
	if _, b, _ := f.snapshot(); len(b) != 0 {
		t.Fatalf("target breakpoints after removal %v", b)
	}
	// "c addr" continues from addr; "S sig" steps ignoring the signal.
	c.expect("Z0,8000204,2", "OK")
	c.expect("c8000200", "T05swbreak:;thread:1;")
	c.expect("S05", "T05thread:1;")
	c.expect("p0f", "06020008")
	c.expect("Z5,8000200,2", "")
	c.expect("Z0,zz,2", "E01")
	c.expect("vCont;x", "E01")
}

func TestWatchpoints(t *testing.T) {
	for _, reported := range []bool{false, true} {
		t.Run(fmt.Sprintf("targetReportsKind=%v", reported), func(t *testing.T) {
			f := newFakeTarget()
			f.reportWatchKind = reported
			f.ops[0x8000110] = fakeOp{store: true, addr: 0x20000020, value: 7}
			f.ops[0x8000120] = fakeOp{load: true, addr: 0x20000024}
			f.ops[0x8000130] = fakeOp{load: true, addr: 0x20000028}
			_, c := connect(t, f)
			c.expect("Z2,20000020,4", "OK")
			c.expect("Z3,20000024,4", "OK")
			c.expect("Z4,20000028,4", "OK")
			c.expect("Z2,20000028,10", "E01") // too wide for the target
			c.expect("Z2,20000028,0", "E01")
			c.expect("c", "T05watch:20000020;thread:1;")
			c.expect("p0f", "12010008") // the store completed
			c.expect("m20000020,4", "07000000")
			c.expect("c", "T05rwatch:20000024;thread:1;")
			c.expect("s", "T05thread:1;")
			c.expect("c", "T05awatch:20000028;thread:1;")
			c.expect("z2,20000020,4", "OK")
			c.expect("z3,20000024,4", "OK")
			c.expect("z4,20000028,4", "OK")
			if _, _, n := f.snapshot(); n != 0 {
				t.Fatalf("%d watchpoints left in the target", n)
			}
		})
	}
}

func TestInterrupt(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000104] = fakeOp{spin: true}
	_, c := connect(t, f)
	c.send("c")
	waitChan(t, f.spinning, "the target to run")
	c.write("\x03")
	if got := c.recv(); got != "T02thread:1;" {
		t.Fatalf("stop after ^C = %q", got)
	}
	c.expect("p0f", "04010008")
	// A stray ^C while stopped changes nothing: the next step is a step.
	c.write("\x03")
	c.expect("?", "T02thread:1;")
	f.ops[0x8000104] = fakeOp{}
	c.expect("s", "T05thread:1;")
}

// TestInterruptRightAfterContinue: gdb's 'c' and ^C arrive together, before
// the target has started running. The ^C must not be lost.
func TestInterruptRightAfterContinue(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000104] = fakeOp{spin: true}
	srv, c := connect(t, f)
	for i := range 20 {
		c.write(frame("c") + "\x03")
		if got := c.recv(); got != "T02thread:1;" {
			t.Fatalf("round %d: stop = %q", i, got)
		}
	}
	// In ack mode too (a fresh connection).
	c.expect("D", "OK")
	waitChan(t, f.detached, "Detach")
	c2 := dial(t, srv.addr)
	c2.write(frame("vCont;c") + "\x03")
	c2.expectByte('+')
	if got := c2.recv(); got != "T02thread:1;" {
		t.Fatalf("stop = %q", got)
	}
}

func TestFaultStop(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000108] = fakeOp{fault: SIGBUS}
	_, c := connect(t, f)
	c.send("c")
	if o := c.recv(); o != "O"+hex.EncodeToString([]byte("fake fault at the op\n")) {
		t.Fatalf("console output before the stop = %q", o)
	}
	if st := c.recv(); st != "T0athread:1;" {
		t.Fatalf("stop = %q, want SIGBUS (10)", st)
	}
	c.expect("p0f", "08010008") // stopped at the faulting instruction
	c.expect("?", "T0athread:1;")
}

func TestExitEndsServe(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000104] = fakeOp{exit: true, code: 3}
	srv, c := connect(t, f)
	c.expect("c", "W03")
	c.expect("?", "W03")
	c.expect("s", "W03") // nothing runs any more
	c.c.Close()
	if err := srv.wait(t); err != nil {
		t.Fatalf("Serve after the target exited = %v, want nil", err)
	}
	select {
	case <-f.detached:
		t.Fatal("an exited target was detached")
	default:
	}
}

func TestKill(t *testing.T) {
	f := newFakeTarget()
	srv, c := connect(t, f)
	c.send("k")
	waitChan(t, f.killed, "Kill")
	c.expectClosed()
	if err := srv.wait(t); err != nil {
		t.Fatalf("Serve after k = %v, want nil", err)
	}
}

func TestVKill(t *testing.T) {
	f := newFakeTarget()
	srv := startServer(t, f)
	c := dial(t, srv.addr)
	c.expect("vKill;1", "OK")
	waitChan(t, f.killed, "Kill")
	if err := srv.wait(t); err != nil {
		t.Fatalf("Serve after vKill = %v, want nil", err)
	}
}

// TestDetachReleasesAndServesTheNext: 'D' clears what the debugger set,
// lets the target run, and the next debugger can attach; a second debugger
// while one is attached is refused.
func TestDetachReleasesAndServesTheNext(t *testing.T) {
	f := newFakeTarget()
	srv, c := connect(t, f)
	c.expect("Z0,8000110,2", "OK")
	c.expect("Z2,20000000,4", "OK")

	second := dial(t, srv.addr)
	second.expectClosed()

	c.expect("D;1", "OK")
	waitChan(t, f.detached, "Detach")
	c.expectClosed()
	if _, b, w := f.snapshot(); len(b) != 0 || w != 0 {
		t.Fatalf("after detach the target still has breakpoints %v and %d watchpoints", b, w)
	}
	next := dial(t, srv.addr)
	next.expect("?", "T02thread:1;")
	f.mu.Lock()
	attached := f.attached
	f.mu.Unlock()
	if attached != 2 {
		t.Fatalf("Attach called %d times, want 2", attached)
	}
}

// TestConnectionLostWhileRunning: the debugger vanishes during a continue;
// the run is interrupted, the debugger's breakpoints are removed and the
// target detached, and Serve waits for another debugger.
func TestConnectionLostWhileRunning(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000104] = fakeOp{spin: true}
	srv, c := connect(t, f)
	c.expect("Z1,8000200,2", "OK")
	c.send("c")
	waitChan(t, f.spinning, "the target to run")
	c.c.Close()
	waitChan(t, f.detached, "Detach")
	if _, b, _ := f.snapshot(); len(b) != 0 {
		t.Fatalf("breakpoints left: %v", b)
	}
	dial(t, srv.addr).expect("qC", "QC1")
}

func TestContextEndInterruptsAndReturns(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000104] = fakeOp{spin: true}
	srv, c := connect(t, f)
	c.send("c")
	waitChan(t, f.spinning, "the target to run")
	srv.cancel()
	if err := srv.wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve = %v, want context.Canceled", err)
	}
	c.expectClosed()
}

func TestContextEndWithoutDebugger(t *testing.T) {
	srv := startServer(t, newFakeTarget())
	srv.cancel()
	if err := srv.wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve = %v, want context.Canceled", err)
	}
}

func TestMonitor(t *testing.T) {
	f := newFakeTarget()
	_, c := connect(t, f)
	c.expect("s", "T05thread:1;")
	c.send("qRcmd," + hex.EncodeToString([]byte("reset")))
	if o := c.recv(); !strings.HasPrefix(o, "O") {
		t.Fatalf("monitor output %q", o)
	}
	if r := c.recv(); r != "OK" {
		t.Fatalf("monitor reply %q", r)
	}
	c.expect("p0f", "00010008")
	if f.resets != 1 {
		t.Fatalf("Reset called %d times", f.resets)
	}
	c.send("qRcmd," + hex.EncodeToString([]byte("frobnicate")))
	o := c.recv()
	msg, _ := hex.DecodeString(o[1:])
	if !strings.Contains(string(msg), `unknown monitor command "frobnicate"`) {
		t.Fatalf("monitor output %q", msg)
	}
	if r := c.recv(); r != "OK" {
		t.Fatalf("monitor reply %q", r)
	}
	c.expect("qRcmd,zz", "E01")
}

func TestLog(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	srv := startServer(t, newFakeTarget(), WithLog(func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}))
	c := dial(t, srv.addr)
	c.expect("qC", "QC1")
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, `<- "qC"`) || !strings.Contains(joined, `-> "QC1"`) {
		t.Fatalf("log:\n%s", joined)
	}
}
