package runner

import (
	"sync"
)

// EventKind is what an Event reports.
type EventKind int

// The kinds of Event.
const (
	// StdoutLine: a line the application wrote on stdout (Line, without
	// its newline; an unfinished last line comes at the end).
	StdoutLine EventKind = iota
	// TraceLine: a trace line (Line, raw JSON): the library's, and in
	// hosted mode the runner's own serverlog and fault lines. A system
	// call's status is its "status" (SyscallStatus).
	TraceLine
	// Exited: the application has exited (Exit); the last event.
	Exited
)

// Event is something a run saw (Options.Observe).
type Event struct {
	Kind EventKind
	Line string
	Exit Exit
}

// Exit is how the application ended.
type Exit struct {
	// Code is its exit status; -1 if a signal killed it (its context
	// ended, or --scenario's duration).
	Code int
	// Err is what Run returns (nil for status 0).
	Err error
}

// SyscallStatus is the call and the status of a trace line of a system
// call (a repeat line of one counts as its event); ok is false for other
// lines.
func SyscallStatus(line string) (call, status string, ok bool) {
	e, _ := syscallEvent(line)
	if e == nil {
		return "", "", false
	}
	call, _ = e["call"].(string)
	status, _ = e["status"].(string)
	return call, status, true
}

// syscallEvent is the system call event of a trace line, and the number
// of calls the line stands for (a repeat line's count); nil for other
// lines.
func syscallEvent(line string) (e map[string]any, n int64) {
	e, err := decode(line)
	if err != nil {
		return nil, 0
	}
	n = 1
	if e["kind"] == "repeat" {
		n = int64(num(e["count"]))
		e, _ = e["event"].(map[string]any)
	}
	if e == nil || e["kind"] != "syscall" {
		return nil, 0
	}
	return e, n
}

// observers delivers events to Options.Observe in the order they were
// queued, one at a time, on a goroutine of their own: the observer may
// act on the hosted cloud (whose events come back through the demux)
// without blocking the run.
type observers struct {
	fn   func(Event)
	mu   sync.Mutex
	cond *sync.Cond
	q    []Event
	shut bool
	done chan struct{}
}

func newObservers(fn func(Event)) *observers {
	o := &observers{fn: fn, done: make(chan struct{})}
	o.cond = sync.NewCond(&o.mu)
	if fn == nil {
		close(o.done)
		return o
	}
	go o.loop()
	return o
}

// on reports whether an observer is set.
func (o *observers) on() bool { return o != nil && o.fn != nil }

func (o *observers) put(e Event) {
	if !o.on() {
		return
	}
	o.mu.Lock()
	if o.shut {
		o.mu.Unlock()
		return
	}
	o.q = append(o.q, e)
	o.mu.Unlock()
	o.cond.Signal()
}

func (o *observers) loop() {
	defer close(o.done)
	for {
		o.mu.Lock()
		for len(o.q) == 0 && !o.shut {
			o.cond.Wait()
		}
		q := o.q
		o.q = nil
		shut := o.shut
		o.mu.Unlock()
		for _, e := range q {
			o.fn(e)
		}
		if shut && len(q) == 0 {
			return
		}
	}
}

// finish delivers exit as the last event and waits until the observer has
// had every event.
func (o *observers) finish(exit Exit) {
	if !o.on() {
		return
	}
	o.put(Event{Kind: Exited, Exit: exit})
	o.close()
}

// close waits until the observer has had every event queued, and ends
// the goroutine; later events are dropped. Run defers it, for a run that
// ends before its application started.
func (o *observers) close() {
	if !o.on() {
		return
	}
	o.mu.Lock()
	o.shut = true
	o.mu.Unlock()
	o.cond.Signal()
	<-o.done
}
