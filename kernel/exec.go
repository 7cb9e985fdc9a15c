package kernel

import (
	mrand "math/rand/v2"

	"github.com/mvnet/mvnet/abi"
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
// run --firmware`, for which Awaiting tells the machine when the replies a
// system call waits for have all been applied. Until then the link reader
// waits, and the frames behind it wait on the link.

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

// Awaiting reports whether the kernel is waiting for the cloud to answer
// something the application asked for: the link while it is wanted (at
// boot, or while a network is requested) and not up; on a connected
// channel, send-ring bytes not yet credited, an HTTP or config request
// without its whole response, an MQTT request not yet answered; server log
// lines sent and not acknowledged. The machine's Settle (deterministic
// mode) waits, after each system call, until Awaiting is false, applying
// Exec's work meanwhile — so every reply lands at the same instruction on
// every run. Unsolicited input (an MQTT message nobody waited for) is not
// awaited: it is applied when it comes, at the next deterministic point.
// Replies on a channel with unread data are AwaitingBehindUnread's.
func (k *Kernel) Awaiting() bool {
	sure, _ := k.awaiting()
	return sure
}

// AwaitingBehindUnread reports replies the kernel waits for on MQTT or
// OPAQUEBYTES channels whose receive ring holds data the application has
// not read: the cloud sends only within the ring's credit, so it may be
// holding them back until the application reads — which it cannot do
// while the machine waits. Settle waits for them only a while.
func (k *Kernel) AwaitingBehindUnread() bool {
	_, behind := k.awaiting()
	return behind
}

func (k *Kernel) awaiting() (sure, behindUnread bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return false, false
	}
	if k.wantLinkLocked() && k.conn == nil {
		return true, false
	}
	if k.conn == nil {
		return false, false // nothing can answer; channels are disconnected
	}
	sure = k.logs.sent > 0 && !k.logs.disabled
	for _, ch := range k.chans {
		if ch.conn != k.conn {
			continue
		}
		switch channelAwaiting(ch) {
		case awaitSure:
			sure = true
		case awaitBehindUnread:
			behindUnread = true
		}
	}
	return sure, behindUnread
}

// What a channel waits for (channelAwaiting).
const (
	awaitNothing      = iota
	awaitSure         // a reply that will come
	awaitBehindUnread // a reply the cloud may hold back until the application reads
)

// channelAwaiting says what connected channel ch waits for from the
// cloud. An HTTP or CONFIGFETCH response always fits the receive ring (or
// the cloud answers RESPONSETOOLARGE), and the request's CREDIT comes with
// it. On MQTT and OPAQUEBYTES channels the cloud sends only within the
// receive ring's credit, and grants the send ring back only as it can
// answer: their replies are sure only while the application has read
// everything received.
func channelAwaiting(ch *channel) int {
	switch ch.typ {
	case abi.ChannelTypeHTTP, abi.ChannelTypeConfigFetch:
		if ch.unusable {
			return awaitNothing
		}
		answered := ch.resp != nil
		if ch.typ == abi.ChannelTypeConfigFetch {
			answered = ch.cfg != nil
		}
		if ch.txWrite > ch.txAcked || ch.reqSent && !answered {
			return awaitSure
		}
		return awaitNothing
	}
	if ch.txWrite == ch.txAcked && (ch.mqtt == nil || len(ch.mqtt.waiting) == 0) {
		return awaitNothing
	}
	if ch.rxWrite != ch.rxRead {
		return awaitBehindUnread
	}
	return awaitSure
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
