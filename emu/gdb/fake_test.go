package gdb

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
)

// fakeTarget is a Target with a tiny "program": every instruction is two
// bytes and does nothing, except those the test places in ops (a store, a
// load, a fault, an exit, a spin). Enough to drive every stop the stub
// reports, without an instruction set.
type fakeTarget struct {
	mu      sync.Mutex
	regs    [NumRegs]uint32
	regions []fakeRegion
	ops     map[uint32]fakeOp
	breaks  map[uint32]int // address -> SetBreakpoint calls minus ClearBreakpoint calls
	watches map[watchpoint]bool
	// reportWatchKind: the target says which kind hit (else the stub works it out).
	reportWatchKind bool
	exited          bool

	attached, resets int
	detached         chan struct{} // receives on every Detach
	killed           chan struct{} // closed on Kill
	spinning         chan struct{} // receives when Continue starts spinning
}

type fakeRegion struct {
	base uint32
	b    []byte
}

type fakeOp struct {
	store, load bool
	addr, value uint32
	fault       Signal
	exit        bool
	code        uint8
	spin        bool // never advances: Continue waits for its interrupt
}

const (
	fakeFlash = 0x08000000
	fakeSRAM  = 0x20000000
	fakeStart = fakeFlash + 0x100
)

func newFakeTarget() *fakeTarget {
	f := &fakeTarget{
		regions: []fakeRegion{
			{base: fakeFlash, b: make([]byte, 0x10000)},
			{base: fakeSRAM, b: make([]byte, 0x1000)},
		},
		ops:      map[uint32]fakeOp{},
		breaks:   map[uint32]int{},
		watches:  map[watchpoint]bool{},
		detached: make(chan struct{}, 16),
		killed:   make(chan struct{}),
		spinning: make(chan struct{}, 16),
	}
	for i := range f.regions[0].b {
		f.regions[0].b[i] = byte(i) // flash: recognisable bytes
	}
	// Thumb NOPs (0xbf00) from the start, so gdb's disassembly is sane.
	for a := uint32(0x100); a < 0x400; a += 2 {
		binary.LittleEndian.PutUint16(f.regions[0].b[a:], 0xbf00)
	}
	for i := range 4 {
		binary.LittleEndian.PutUint32(f.regions[1].b[4*i:], 0x11111111*uint32(i+1))
	}
	for r := R0; r <= R12; r++ {
		f.regs[r] = uint32(r) * 0x01010101
	}
	f.regs[SP] = fakeSRAM + 0x1000
	f.regs[MSP] = fakeSRAM + 0x1000
	f.regs[PSP] = fakeSRAM + 0x800
	f.regs[LR] = 0xffffffff
	f.regs[PC] = fakeStart
	f.regs[XPSR] = 1 << 24 // T bit
	f.regs[BASEPRI] = 0x40
	f.regs[CONTROL] = 0
	return f
}

func (f *fakeTarget) Attach() Stop {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attached++
	if f.exited {
		return Stop{Kind: StopExited, Code: 3}
	}
	return Stop{Kind: StopInterrupted}
}

func (f *fakeTarget) Detach() { f.detached <- struct{}{} }

func (f *fakeTarget) ReadRegister(r Reg) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regs[r]
}

func (f *fakeTarget) WriteRegister(r Reg, v uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r == PRIMASK && v > 1 {
		return errors.New("PRIMASK is one bit")
	}
	f.regs[r] = v
	return nil
}

// span returns the bytes at [addr, addr+n) or nil if any is unmapped.
func (f *fakeTarget) span(addr, n uint32) []byte {
	for _, r := range f.regions {
		if addr >= r.base && uint64(addr-r.base)+uint64(n) <= uint64(len(r.b)) {
			return r.b[addr-r.base : addr-r.base+n]
		}
	}
	return nil
}

var errUnmapped = errors.New("unmapped")

func (f *fakeTarget) ReadMemory(addr uint32, b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.span(addr, uint32(len(b)))
	if m == nil {
		return errUnmapped
	}
	copy(b, m)
	return nil
}

func (f *fakeTarget) WriteMemory(addr uint32, b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.span(addr, uint32(len(b)))
	if m == nil {
		return errUnmapped
	}
	copy(m, b)
	return nil
}

// exec runs the instruction at PC; ok=false with a stop when it stopped.
// Called with f.mu held.
func (f *fakeTarget) exec() (Stop, bool) {
	pc := f.regs[PC]
	if f.span(pc, 2) == nil {
		return Stop{Kind: StopFault, Signal: SIGSEGV, Detail: "fetch from unmapped memory"}, false
	}
	op, has := f.ops[pc]
	switch {
	case !has:
	case op.exit:
		f.exited = true
		return Stop{Kind: StopExited, Code: op.code}, false
	case op.fault != 0:
		return Stop{Kind: StopFault, Signal: op.fault, Detail: "fake fault at the op"}, false
	case op.store, op.load:
		if op.store {
			binary.LittleEndian.PutUint32(f.span(op.addr, 4), op.value)
		}
		f.regs[PC] = pc + 2
		for w := range f.watches {
			if op.addr+4 <= w.addr || w.addr+w.n <= op.addr {
				continue
			}
			if w.kind == WatchAccess || (w.kind == WatchWrite) == op.store {
				st := Stop{Kind: StopWatchpoint, Addr: op.addr}
				if f.reportWatchKind {
					st.Watch = w.kind
				}
				return st, false
			}
		}
		return Stop{}, true
	}
	f.regs[PC] = pc + 2
	return Stop{}, true
}

func (f *fakeTarget) Step() Stop {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op := f.ops[f.regs[PC]]; op.spin {
		return Stop{Kind: StopStep}
	}
	if st, ok := f.exec(); !ok {
		return st
	}
	return Stop{Kind: StopStep}
}

func (f *fakeTarget) Continue(ctx context.Context) Stop {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return Stop{Kind: StopInterrupted}
		}
		if f.ops[f.regs[PC]].spin {
			f.mu.Unlock()
			f.spinning <- struct{}{}
			<-ctx.Done()
			f.mu.Lock()
			return Stop{Kind: StopInterrupted}
		}
		if st, ok := f.exec(); !ok {
			return st
		}
		if f.breaks[f.regs[PC]] > 0 {
			return Stop{Kind: StopBreakpoint}
		}
	}
}

func (f *fakeTarget) SetBreakpoint(addr uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.span(addr, 2) == nil {
		return errUnmapped
	}
	f.breaks[addr]++
	return nil
}

func (f *fakeTarget) ClearBreakpoint(addr uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.breaks[addr]--
	if f.breaks[addr] == 0 {
		delete(f.breaks, addr)
	}
	return nil
}

func (f *fakeTarget) SetWatchpoint(kind WatchKind, addr, n uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n > 8 {
		return errors.New("too wide")
	}
	f.watches[watchpoint{kind, addr, n}] = true
	return nil
}

func (f *fakeTarget) ClearWatchpoint(kind WatchKind, addr, n uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.watches, watchpoint{kind, addr, n})
	return nil
}

func (f *fakeTarget) Reset() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets++
	f.regs[PC] = fakeStart
	return nil
}

func (f *fakeTarget) Kill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exited = true
	close(f.killed)
}

// snapshot returns copies for assertions.
func (f *fakeTarget) snapshot() (regs [NumRegs]uint32, breaks map[uint32]int, watches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	breaks = map[uint32]int{}
	for k, v := range f.breaks {
		breaks[k] = v
	}
	return f.regs, breaks, len(f.watches)
}
