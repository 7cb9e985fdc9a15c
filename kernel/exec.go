package kernel

import (
	mrand "math/rand/v2"
	"sync"
)

// Running the kernel beside an emulated CPU (Options.Exec).
//
// Under the firmware emulator (emu/, docs/firmware.md) application memory
// belongs to the machine's goroutine: the CPU reads and writes it between
// the kernel's accesses with no lock. The kernel's system calls already
// run on that goroutine (a trap at a gateway address). Everything else the
// kernel does to the application — a frame from the cloud written into a
// receive ring, a notification record and its IRQ, a lost link
// disconnecting channels, the link coming up and moving network handles to
// CONNECTED, server log lines re-read from the log buffer, the events of
// Options.OnEvent — happens on the link manager's goroutine. With
// Options.Exec set, that goroutine first parks the machine: it hands Exec a
// function that, run on the machine's goroutine between instructions,
// reports that it is parked and blocks until the kernel has finished; the
// kernel's change then runs on its own goroutine while the CPU stands
// still, exactly as if it had run on the machine's. The order of frames is
// kept, and error handling is that of a kernel without Exec.
//
// Exec decides when the change is applied: at once (the machine checks its
// queue between run quanta: --realtime) or only at deterministic points
// (after a system call, while asleep, periodically): the default of `mvnet
// run --firmware`, where the kernel's clock is virtual and Dialing and
// Sync tell the machine how long to hold its time at a sync point
// (virtual.go). Until a change is applied the link reader waits, and the
// frames behind it wait on the link.

// enter parks the application (Options.Exec) before the kernel changes its
// memory or pends an IRQ from a goroutine other than the application's;
// the function returned lets it go on. Without Exec both do nothing. It
// must not be called from a system call (the application's goroutine):
// that goroutine would wait for itself. If the kernel closes while waiting
// for the park, enter returns at once; the caller goes on as during a
// shutdown without Exec.
func (k *Kernel) enter() (leave func()) {
	if k.opts.Exec == nil {
		return func() {}
	}
	parked := make(chan struct{})
	resume := make(chan struct{})
	k.opts.Exec(func() {
		close(parked)
		<-resume
	})
	select {
	case <-parked:
		return func() { close(resume) }
	case <-k.ctx.Done():
		select {
		case <-parked:
			// Parked as the kernel closed: select may pick either ready
			// case, and the machine is held now — let it go on after.
			return func() { close(resume) }
		default:
		}
		// The machine may never run the function now; when it does it
		// must not block.
		close(resume)
		return func() {}
	}
}

// ExecQueue is a FIFO of the functions a kernel hands Options.Exec, for a
// host that runs them on the application's goroutine when it chooses
// (the firmware emulator's sync points; tests). The zero value is empty
// and ready; any goroutine may call its methods.
type ExecQueue struct {
	mu  sync.Mutex
	fns []func()
}

// Push appends fn (Options.Exec); it never blocks.
func (q *ExecQueue) Push(fn func()) {
	q.mu.Lock()
	q.fns = append(q.fns, fn)
	q.mu.Unlock()
}

// Len is the number of functions queued.
func (q *ExecQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.fns)
}

// Drain runs every queued function, in order, on the calling goroutine,
// including those queued meanwhile, until the queue is empty.
func (q *ExecQueue) Drain() {
	for {
		q.mu.Lock()
		fns := q.fns
		q.fns = nil
		q.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		for _, fn := range fns {
			fn()
		}
	}
}

// seededRand returns Options.Seed's source of handles, or nil for the
// process-wide random source.
func seededRand(seed *[32]byte) *mrand.Rand {
	if seed == nil {
		return nil
	}
	return mrand.New(mrand.NewChaCha8(*seed))
}

// drawUint32 and drawUint64 draw from r (Options.Seed's source), or from
// math/rand/v2's when r is nil. A kernel's r is used under its mu, or in
// New before the kernel is shared.
func drawUint32(r *mrand.Rand) uint32 {
	if r != nil {
		return r.Uint32()
	}
	return mrand.Uint32()
}

func drawUint64(r *mrand.Rand) uint64 {
	if r != nil {
		return r.Uint64()
	}
	return mrand.Uint64()
}
