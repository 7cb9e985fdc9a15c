package kernel

import (
	"context"
	"log/slog"

	"github.com/mvnet/mvnet/link"
)

// Events: what the kernel tells its host (Options.OnEvent) and logs, that
// the application cannot see through the ABI — a device that cannot reach
// its cloud only sees its network stay CONNECTING, and a failed request
// only MV_HTTPRESULT_REQUESTFAILED.

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventLinkError: Text says why the link to the cloud could not be
	// established ("cannot reach the cloud: …") or was lost ("link lost:
	// …"). Reported once, then again only when the text changes or after
	// the link was up in between; also logged at warning level.
	EventLinkError EventKind = iota + 1
	// EventLinkUp: the link is up again after an EventLinkError.
	EventLinkUp
	// EventDiagnostic: the cloud's reason (CONTROL DIAG, link/doc.go) for
	// failing the request or MQTT connection of channel Channel, e.g.
	// "DNS lookup of api.example.invalid failed: no such host"; also
	// logged at info level and kept for ChannelDiagnostic.
	EventDiagnostic
)

// String names the kind: "link-error", "link-up" or "diagnostic".
func (k EventKind) String() string {
	switch k {
	case EventLinkError:
		return "link-error"
	case EventLinkUp:
		return "link-up"
	case EventDiagnostic:
		return "diagnostic"
	}
	return "unknown"
}

// Event is one report to Options.OnEvent.
type Event struct {
	Kind    EventKind
	Channel uint32 // EventDiagnostic: the channel handle
	Text    string
}

// linkReporter remembers the last link error reported, so that a device
// retrying an unreachable cloud reports the error once, not once per dial.
// Used only by the link manager's goroutine.
type linkReporter struct {
	last string // the last EventLinkError text; "" while the link is up
}

// linkError reports text as the link error unless it was the last one.
// The caller has parked the application (enter), so that the host's
// record of the error falls at the instant the kernel acts on it (a
// virtual redial timer set, the lost link applied).
func (k *Kernel) linkError(r *linkReporter, text string) {
	if text == r.last {
		return
	}
	r.last = text
	level := slog.LevelWarn
	if k.opts.HostShowsLinkErrors {
		level = slog.LevelDebug
	}
	k.log.Log(context.Background(), level, "link error", "device", k.id, "err", text)
	k.emitParked(Event{Kind: EventLinkError, Text: text})
}

// linkUp reports the link up, if a link error was reported before. The
// caller has parked the application (enter), as for linkError.
func (k *Kernel) linkUp(r *linkReporter) {
	if r.last == "" {
		return
	}
	r.last = ""
	k.log.Info("link up", "device", k.id)
	k.emitParked(Event{Kind: EventLinkUp, Text: "link up"})
}

// emit tells OnEvent, with the application parked (Options.Exec): the
// host's record of the event (a trace line) then falls between the same
// instructions as the kernel's changes. Called only from the link
// manager's goroutine.
func (k *Kernel) emit(e Event) {
	if k.opts.OnEvent != nil {
		defer k.enter()()
		k.emitParked(e)
	}
}

// emitParked tells OnEvent from a link goroutine that has parked the
// application already (enter), without the kernel's lock.
func (k *Kernel) emitParked(e Event) {
	if k.opts.OnEvent != nil {
		k.opts.OnEvent(e)
	}
}

// diagLocked keeps the cloud's CONTROL DIAG for its channel.
func (k *Kernel) diagLocked(c *link.Conn, f *link.Frame) bool {
	ch, ok := k.chans[f.Chan]
	if !ok || ch.conn != c {
		return false // closed meanwhile
	}
	ch.diag = string(f.Payload)
	k.log.Info("cloud diagnostic", "channel", f.Chan, "reason", ch.diag)
	return true
}

// ChannelDiagnostic returns the cloud's last diagnostic reason for channel
// h (why its request or MQTT connection failed), and false if h is not an
// open channel. It is not a system call: the application ABI has no room
// for it; hosts show it in transcripts and traces.
func (k *Kernel) ChannelDiagnostic(h uint32) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.chans[h]
	if !ok {
		return "", false
	}
	return ch.diag, true
}
