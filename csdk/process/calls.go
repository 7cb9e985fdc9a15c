package process

import (
	"fmt"
	"sync"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
)

// How a call is served.
const (
	ServedByKernel = "kernel"      // kernel's handler
	ServedHere     = "emulated"    // answered by the C SDK (emulated.go)
	NotServed      = "unavailable" // MV_STATUS_UNAVAILABLE
)

// entry is one call of the dispatch table, indexed like abi.Calls.
type entry struct {
	call   abi.Call
	served string
	note   string // why a call is unavailable, or what the emulation does
	fn     func(p *Process, k *kernel.Kernel, a *kernel.Args) abi.Status
	// noStart: the call works without the cloud and kernel (clocks …).
	noStart bool
}

// callTable is abi.Calls, read once: the numbering the C shim uses.
var callTable = sync.OnceValue(abi.Calls)

// buildTable decides, for every call of the header, who serves it: the
// kernel if its syscall table has a handler, else the emulation here, else
// nobody.
func buildTable() []entry {
	calls := callTable()
	t := make([]entry, len(calls))
	for i, c := range calls {
		e := entry{call: c}
		s, inKernel := kernel.Lookup(c.Name)
		em, isEmulated := emulated[c.Name]
		switch {
		case inKernel && s.Handler != nil:
			h := s.Handler
			e.served, e.note = ServedByKernel, s.Note
			e.fn = func(_ *Process, k *kernel.Kernel, a *kernel.Args) abi.Status { return h(k, a) }
		case isEmulated:
			e.served, e.note, e.fn, e.noStart = ServedHere, em.note, em.fn, em.noStart
		default:
			e.served = NotServed
			switch {
			case inKernel:
				e.note = fmt.Sprintf("not implemented by mvnet's kernel yet (%s: %s)", s.Family, s.Support)
			case c.Network:
				e.note = "not implemented by mvnet yet"
			default:
				e.note = fmt.Sprintf("not emulated on the host (%s)", c.Family)
			}
		}
		t[i] = e
	}
	return t
}

// Support describes how the C SDK serves one call of the header.
type Support struct {
	Name   string
	Served string // ServedByKernel, ServedHere or NotServed
	Note   string
}

// SupportTable lists every call of the header, in header order, with how
// the C SDK serves it.
func SupportTable() []Support {
	t := buildTable()
	out := make([]Support, len(t))
	for i, e := range t {
		out[i] = Support{Name: e.call.Name, Served: e.served, Note: e.note}
	}
	return out
}

// Call runs call number nr (its index in abi.Calls) with args. An unknown
// number — a shim out of step with the table — is MV_STATUS_UNAVAILABLE.
func (p *Process) Call(nr int, args kernel.Args) abi.Status { return p.CallArgs(nr, &args) }

// CallArgs is Call with the arguments read in place from a, which must stay
// valid for the call and is not kept after it. libmvnet passes an array on
// the C caller's stack, so the hot path allocates nothing: the dispatch
// table's functions are called through func values, so a Go kernel.Args
// whose address they get always escapes to the heap.
func (p *Process) CallArgs(nr int, a *kernel.Args) abi.Status {
	if nr < 0 || nr >= len(p.calls) {
		p.log.Error("system call number out of range: libmvnet's C shim and Go table disagree", "nr", nr)
		return abi.StatusUnavailable
	}
	e := &p.calls[nr]
	var k *kernel.Kernel
	if !e.noStart || e.served == ServedByKernel {
		var err error
		if k, err = p.Kernel(); err != nil {
			p.fatal(err)
			return abi.StatusInternalError
		}
	}
	if e.fn == nil {
		p.trace.syscall(e, a, abi.StatusUnavailable, nil)
		return abi.StatusUnavailable
	}
	if !p.trace.on() {
		return e.fn(p, k, a)
	}
	pre := p.trace.before(e, a)
	st := e.fn(p, k, a)
	if st == abi.StatusOkay && e.call.Name == "mvServerLog" && k != nil {
		pre = &preState{logSeq: k.LastLogSeq(), hasLogSeq: true}
	}
	p.trace.syscall(e, a, st, pre)
	return st
}

// CallByName runs a call by its header name (tests and tools).
func (p *Process) CallByName(name string, args ...uint64) (abi.Status, error) {
	for i, c := range callTable() {
		if c.Name == name {
			if len(args) > len(kernel.Args{}) {
				return 0, fmt.Errorf("%s: %d arguments, at most %d", name, len(args), len(kernel.Args{}))
			}
			var a kernel.Args
			copy(a[:], args)
			return p.Call(i, a), nil
		}
	}
	return 0, fmt.Errorf("unknown system call %q", name)
}

// fatal reports a failure to start and ends the process: the application
// cannot run without its kernel.
func (p *Process) fatal(err error) {
	fmt.Fprintf(p.o.Stderr, "%v\n", err)
	p.trace.close()
	p.o.Exit(2)
}
