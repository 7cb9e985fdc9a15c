package firmware

import (
	"fmt"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/csdk/process"
	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/kernel"
)

// gateways dispatches the system calls the image makes: execution reaching
// a secure-gateway veneer (abi.GatewayAt) runs the call of that entry
// point through the process's dispatch table — by its number in
// abi.Calls, as libmvnet's C shim does, so that every call behaves as for
// a host application (kernel calls, clocks, mvTestingComplete, mvRestart,
// the LED, the trace) — then writes the status to r0 and returns to lr.
type gateways struct {
	p  *process.Process
	nr [abi.GatewaySlots]int // slot → number in abi.Calls; -1: no call
	// beforeExit runs before mvTestingComplete and mvRestart (Run:
	// settleBeforeExit); nil for none.
	beforeExit func()
	exits      [2]int // the numbers of those two calls
	// excReturn performs an exception return (the machine's
	// ExceptionReturn hook); nil in tests without a machine.
	excReturn func(c *cpu.CPU, v uint32)
}

// excReturnMin is the lowest value a branch turns into an exception
// return in Handler mode (ARMv8-M: 0xF0000000-0xFFFFFFFF; cpu.Hooks).
const excReturnMin = 0xF000_0000

func newGateways(p *process.Process, beforeExit func()) (*gateways, error) {
	g := &gateways{p: p, beforeExit: beforeExit}
	for i := range g.nr {
		g.nr[i] = -1
	}
	calls := abi.Calls()
	index := make(map[string]int, len(calls))
	for i, c := range calls {
		index[c.Name] = i
	}
	for _, gw := range abi.Gateways() {
		if !gw.Declared {
			continue // abi.TemporaryStructTest
		}
		n, ok := index[gw.Name]
		if !ok {
			return nil, fmt.Errorf("firmware: gateway %s has no call in abi.Calls", gw.Name)
		}
		// spec/firmware.md: arguments follow the AAPCS, r0-r3 then the
		// stack. No call of the header takes more than four, which is
		// all kernel.Args holds (the C shim checks the same).
		if len(calls[n].Params) > len(kernel.Args{}) {
			return nil, fmt.Errorf("firmware: %s takes %d arguments; the trap passes r0-r3 only", gw.Name, len(calls[n].Params))
		}
		g.nr[gw.Slot()] = n
	}
	g.exits = [2]int{index["mvTestingComplete"], index["mvRestart"]}
	return g, nil
}

// trap is the machine's Trap: it handles execution at a gateway address
// and reports false for any other address (the machine then raises the
// fetch fault).
func (g *gateways) trap(c *cpu.CPU, pc uint32) bool {
	gw, ok := abi.GatewayAt(pc)
	if !ok {
		return false
	}
	var st abi.Status
	if n := g.nr[gw.Slot()]; n >= 0 {
		a := kernel.Args{uint64(c.R[0]), uint64(c.R[1]), uint64(c.R[2]), uint64(c.R[3])}
		if g.beforeExit != nil && (n == g.exits[0] || n == g.exits[1]) {
			g.beforeExit()
		}
		st = g.p.CallArgs(n, &a)
	} else {
		// abi.TemporaryStructTest: not implemented; r0 only.
		st = abi.UndeclaredStatus
		g.p.TraceEvent("syscall", `"call":"`+gw.Name+`","status":"`+st.String()+`","note":"not declared by mv_syscalls.h; not implemented"`)
	}
	c.R[0] = uint32(st)
	// Return to the caller as BX lr would. A handler that tail-calls a
	// system call (`b mvNoOp`, as -O2 compiles a call in tail position)
	// reaches the gateway with lr = EXC_RETURN: that is an exception
	// return.
	if lr := c.R[14]; lr >= excReturnMin && c.HandlerMode() && g.excReturn != nil {
		g.excReturn(c, lr)
		return true
	}
	c.R[15] = c.R[14] &^ 1 // R[15] is the next instruction's address: no Thumb bit
	return true
}
