// Package faults provokes network faults on the cloud's device links, on
// demand, so that application code can be tested against them: a dropped
// link, a channel closed or reset by the server, a slow link.
//
// An Injector only holds fault state and asks for actions through small
// interfaces. Device sessions consult it (LinkDropped when a device says
// HELLO, Latency for every frame they send); for actions on a live link it
// looks the device's current link up through Links and calls the Link
// interface. It never touches session internals. See docs/fault-injection.md
// for what each fault looks like from the device.
//
// Every time the Injector keeps for a device is on that device's clock
// (SetClocks; the wall clock by default; Reclock moves a device's timers
// when its clock changes): a fault's Applied and Ends and
// its events' Time, the For expiry, link-flap's periods, cloud-restart's
// down time and the http-delay and mqtt-delay waits. For an emulated
// firmware image in deterministic mode that clock is the device's virtual
// clock (package vclock, link/doc.go "Virtual time"), so a fault ends, a
// flapping link goes down and up, and a delayed response comes at the
// same virtual instant on every run. Timers fire on the goroutine that
// advances the clock; the upstream waits lend the hold of the work they
// delay (the session's request, the acks behind a delayed PUBLISH) so the
// clock can reach their end, and hold it again from then. A fault applied
// from outside (REST, a test) holds nothing: it starts at the device's
// current time and acts at the device's next sync point.
package faults

import (
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/internal/vclock"
)

// Errors returned by the Injector, wrapped with the device and channel.
var (
	// ErrNotConnected: the device has no link to the cloud right now.
	ErrNotConnected = errors.New("device is not connected")
	// ErrUnknownChannel: the device has no open channel with that handle.
	ErrUnknownChannel = errors.New("no open channel with that handle")
	// ErrClosed: the Injector was closed (its cloud shut down).
	ErrClosed = errors.New("fault injector closed")
)

// Link is one device's live link, as the Injector acts on it.
type Link interface {
	// Drop closes the link at once, without a goodbye.
	Drop()
	// CloseChannel sends CLOSE with reason to the device and forgets the
	// channel. It returns an error wrapping ErrUnknownChannel if the channel
	// is not open.
	CloseChannel(ch uint32, reason abi.ClosureReason) error
	// AnnounceUpdate tells the device an application update has been
	// downloaded for it (CONTROL UPDATE with the description).
	AnnounceUpdate(description string)
}

// Links finds the current link of a device.
type Links interface {
	Link(deviceID string) (Link, bool)
}

// Injector holds the faults in force and applies them. Its zero value is not
// usable; create one with New. It is safe for concurrent use.
//
// Every fault is a Spec applied to one device (Apply), listed while it is
// in force (List) and ended by Clear, by its For elapsing, or — for a
// one-shot fault — when its action is over. Subscribers (Subscribe) see
// each fault start and end, in order; mvnet run puts them in the
// transcript and the trace.
type Injector struct {
	links Links

	mu     sync.Mutex
	byDev  map[string][]*active // by devid.Canon of the device ID
	subs   map[int]func(Event)
	nsub   int
	closed bool // Close was called: Apply fails

	maxBody atomic.Int64                              // SetMaxBody; 0: DefaultMaxBody
	log     atomic.Pointer[slog.Logger]               // SetLogger; nil: discard
	clocks  atomic.Pointer[func(string) vclock.Clock] // SetClocks; nil: Wall

	emitMu sync.Mutex // events go out one at a time, in order
}

// active is a fault in force.
type active struct {
	f     Fault
	stop  func()      // the kind's teardown, or nil; called once, without i.mu
	timer func() bool // stops the For expiry timer (on the device's clock), or nil
	rng   *rand.Rand  // the fault's random source (Seed), guarded by i.mu
	done  bool
	down  bool // link-flap, cloud-restart: the link is down now (link.go)
	// clock is the clock the fault's timers are on; reclock, if set, moves
	// the kind's own timers to another (Reclock). Both guarded by i.mu.
	clock   vclock.Clock
	reclock func(c vclock.Clock, shift time.Duration)
}

// Fault is a fault applied to a device.
type Fault struct {
	ID      string    `json:"id"` // "FT" + 32 hex digits
	Device  string    `json:"device"`
	Spec    Spec      `json:"spec"`
	Applied time.Time `json:"applied"`
	// Ends is when For clears it; zero means until cleared (or, for a
	// one-shot fault, until its action is over).
	Ends time.Time `json:"ends,omitzero"`
}

// Phase is what an Event reports.
type Phase string

// The phases.
const (
	Started Phase = "start"
	Ended   Phase = "end"
)

// Event is a fault starting or ending.
type Event struct {
	Time  time.Time
	Phase Phase
	Fault Fault
	// Why, for Ended: "cleared", "expired" (For elapsed), "done" (a
	// one-shot's action is over), "shutdown" (Close: the cloud shut down)
	// or "failed: ..." .
	Why string
}

// New returns an Injector that acts on the links links finds.
func New(links Links) *Injector {
	return &Injector{
		links: links,
		byDev: make(map[string][]*active),
		subs:  make(map[int]func(Event)),
	}
}

// ErrUnknownFault: the device has no fault in force with that ID.
var ErrUnknownFault = errors.New("no such fault in force")

// Subscribe calls fn with every fault event from now on, one at a time and
// in order, until the returned cancel is called. fn must not call the
// Injector's Apply or Clear. The end of a fault by its own timer (For,
// cloud-restart) is reported on the goroutine that advances the device's
// clock (SetClocks): fn must not wait for that clock to advance.
func (i *Injector) Subscribe(fn func(Event)) (cancel func()) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.nsub++
	n := i.nsub
	i.subs[n] = fn
	return func() {
		i.mu.Lock()
		delete(i.subs, n)
		i.mu.Unlock()
	}
}

func (i *Injector) emit(e Event) {
	i.emitMu.Lock()
	defer i.emitMu.Unlock()
	i.mu.Lock()
	fns := i.subsLocked()
	i.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

// subsLocked returns the subscribers, in the order they subscribed.
func (i *Injector) subsLocked() []func(Event) {
	fns := make([]func(Event), 0, len(i.subs))
	keys := make([]int, 0, len(i.subs))
	for k := range i.subs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fns = append(fns, i.subs[k])
	}
	return fns
}

// starter starts a kind's effect on a fault just recorded (a is in
// i.byDev). It returns the teardown to run when the fault ends (nil if
// there is none); an error undoes the Apply. For a one-shot kind, the
// starter's caller ends the fault when start returns, unless the starter
// took that over (ownsEnd).
type starter struct {
	start   func(i *Injector, a *active) (stop func(), err error)
	ownsEnd bool // a one-shot whose end the starter reports (endOneShot)
}

// starters are the kinds' effects. Kinds whose effect is a state the cloud
// consults (link-drop, latency, ...) need none: the queries below read
// the faults in force.
var starters = map[Kind]starter{
	LinkDrop: {start: func(i *Injector, a *active) (func(), error) {
		if l, ok := i.links.Link(a.f.Device); ok {
			l.Drop()
		}
		return nil, nil
	}},
	ChannelClose: {start: func(i *Injector, a *active) (func(), error) {
		return nil, i.closeChannel(a.f.Device, a.f.Spec.Channel, abi.ClosureReasonChannelClosedByServer)
	}},
	ChannelReset: {start: func(i *Injector, a *active) (func(), error) {
		return nil, i.closeChannel(a.f.Device, a.f.Spec.Channel, abi.ClosureReasonChannelResetByServer)
	}},
	UpdateAnnounced: {start: func(i *Injector, a *active) (func(), error) {
		l, ok := i.links.Link(a.f.Device)
		if !ok {
			return nil, fmt.Errorf("device %s: %w", a.f.Device, ErrNotConnected)
		}
		l.AnnounceUpdate(a.f.Spec.Description)
		return nil, nil
	}},
}

// Apply puts a fault in force on the device and returns it. A one-shot
// fault acts at once (and fails if it cannot, e.g. channel-close on a
// device that is not connected); a lasting one stays until Clear, or until
// For elapses.
//
// The device ID may be given in either case (devid.Check); the Fault
// carries it with lower-case hex, as the cloud issues IDs.
func (i *Injector) Apply(deviceID string, s Spec) (Fault, error) {
	f, _, err := i.apply(deviceID, s, false)
	return f, err
}

// apply is Apply; with single, a fault of s's kind already in force on the
// device is returned (existed true) instead of applying another, decided
// under the same lock that records a new one.
func (i *Injector) apply(deviceID string, s Spec, single bool) (f Fault, existed bool, err error) {
	if err := devid.Check(deviceID); err != nil {
		return Fault{}, false, fmt.Errorf("faults: Apply: %w", err)
	}
	deviceID = devid.Canon(deviceID)
	if err := s.Validate(); err != nil {
		return Fault{}, false, fmt.Errorf("faults: Apply: %w", err)
	}
	st, ok := starters[s.Kind]
	if !ok && s.Kind.OneShot() {
		return Fault{}, false, fmt.Errorf("faults: Apply: %s is not supported", s.Kind)
	}
	clock := i.clock(deviceID)
	now := clock.Now()
	a := &active{f: Fault{ID: newID(), Device: deviceID, Spec: s, Applied: now}, clock: clock}
	a.rng = rand.New(rand.NewPCG(uint64(s.Seed), uint64(s.Seed)^0x9e3779b97f4a7c15))
	if s.For > 0 {
		a.f.Ends = now.Add(time.Duration(s.For))
	}
	// Record the fault and report it started under emitMu: an end racing
	// this Apply (Clear, Close) reports Ended after Started.
	i.emitMu.Lock()
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		i.emitMu.Unlock()
		return Fault{}, false, fmt.Errorf("faults: Apply: %w", ErrClosed)
	}
	if single {
		if in := i.firstLocked(deviceID, s.Kind); in != nil {
			f := in.f
			i.mu.Unlock()
			i.emitMu.Unlock()
			return f, true, nil
		}
	}
	i.byDev[deviceID] = append(i.byDev[deviceID], a)
	fns := i.subsLocked()
	i.mu.Unlock()
	for _, fn := range fns {
		fn(Event{Time: now, Phase: Started, Fault: a.f})
	}
	i.emitMu.Unlock()
	if ok {
		stop, err := st.start(i, a)
		if err != nil {
			i.end(a, "failed: "+err.Error())
			return Fault{}, false, fmt.Errorf("faults: %s: %w", s.Kind, err)
		}
		i.mu.Lock()
		ended := a.done // ended while it started: end found no stop to run
		if !ended {
			a.stop = stop
		}
		i.mu.Unlock()
		if ended && stop != nil {
			stop()
		}
	}
	if s.Kind.OneShot() {
		if !st.ownsEnd {
			i.end(a, "done")
		}
		return a.f, false, nil
	}
	if s.For > 0 {
		i.mu.Lock()
		if !a.done {
			// At Ends, even if the clock moved on while the fault started.
			a.timer = clock.AfterFunc(a.f.Ends.Sub(clock.Now()), func() { i.end(a, "expired") })
		}
		i.mu.Unlock()
	}
	return a.f, false, nil
}

// SetClocks gives the Injector each device's clock: clockFor(id), with id
// canonical (devid.Canon: lower-case hex), is the clock every time the
// Injector keeps for that device runs on — a fault's Applied and Ends, its
// events' Time, the For expiry, link-flap's periods, cloud-restart's down
// time and the upstream http-delay and mqtt-delay waits (see the package
// doc). clockFor must be cheap and safe for concurrent use, and give a
// device the same clock for as long as it has faults in force. nil (the
// default) is vclock.Wall for every device. Call it once, before the
// Injector is used: a fault already in force keeps the clock it started
// on.
func (i *Injector) SetClocks(clockFor func(deviceID string) vclock.Clock) {
	if clockFor == nil {
		i.clocks.Store(nil)
		return
	}
	i.clocks.Store(&clockFor)
}

// clock is the device's clock (SetClocks); deviceID in either case.
func (i *Injector) clock(deviceID string) vclock.Clock {
	f := i.clocks.Load()
	if f == nil {
		return vclock.Wall
	}
	if c := (*f)(devid.Canon(deviceID)); c != nil {
		return c
	}
	return vclock.Wall
}

// SetLogger gives the Injector a logger for what it notes while faults act
// (e.g. an mqtt-refuse code mapped to the connection's MQTT version).
// Without one it logs nothing.
func (i *Injector) SetLogger(l *slog.Logger) { i.log.Store(l) }

func (i *Injector) logger() *slog.Logger {
	if l := i.log.Load(); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Close ends every fault in force, on every device, with why "shutdown"
// (subscribers see each end) — a link-flap's transition under way is over
// when its end is reported — and makes later Applies fail with ErrClosed. The cloud's
// Shutdown calls it: no fault outlives its cloud. Close may be called more
// than once.
func (i *Injector) Close() {
	i.mu.Lock()
	i.closed = true
	var all []*active
	for _, list := range i.byDev {
		all = append(all, list...)
	}
	i.mu.Unlock()
	slices.SortFunc(all, func(a, b *active) int { return a.f.Applied.Compare(b.f.Applied) })
	for _, a := range all {
		i.end(a, "shutdown")
	}
}

// end takes a out of force (once) and reports it.
func (i *Injector) end(a *active, why string) {
	i.mu.Lock()
	if a.done {
		i.mu.Unlock()
		return
	}
	a.done = true
	if a.timer != nil {
		a.timer()
	}
	list := i.byDev[a.f.Device]
	if k := slices.Index(list, a); k >= 0 {
		list = slices.Delete(list, k, k+1)
	}
	if len(list) == 0 {
		delete(i.byDev, a.f.Device)
	} else {
		i.byDev[a.f.Device] = list
	}
	stop := a.stop
	i.mu.Unlock()
	if stop != nil {
		stop()
	}
	i.emit(Event{Time: i.clock(a.f.Device).Now(), Phase: Ended, Fault: a.f, Why: why})
}

// Clear ends one fault in force on the device.
func (i *Injector) Clear(deviceID, faultID string) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: Clear: %w", err)
	}
	i.mu.Lock()
	var found *active
	for _, a := range i.faultsOf(deviceID) {
		if a.f.ID == faultID {
			found = a
		}
	}
	i.mu.Unlock()
	if found == nil {
		return fmt.Errorf("faults: Clear: device %s fault %q: %w", deviceID, faultID, ErrUnknownFault)
	}
	i.end(found, "cleared")
	return nil
}

// ClearAll ends every fault in force on the device (every kind, or only
// those of the kinds given) and returns how many it ended.
func (i *Injector) ClearAll(deviceID string, only ...Kind) (int, error) {
	if err := devid.Check(deviceID); err != nil {
		return 0, fmt.Errorf("faults: ClearAll: %w", err)
	}
	i.mu.Lock()
	var list []*active
	for _, a := range i.faultsOf(deviceID) {
		if len(only) == 0 || slices.Contains(only, a.f.Spec.Kind) {
			list = append(list, a)
		}
	}
	i.mu.Unlock()
	for _, a := range list {
		i.end(a, "cleared")
	}
	return len(list), nil
}

// List returns the faults in force on the device, oldest first; with
// deviceID "", on every device.
func (i *Injector) List(deviceID string) []Fault {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []Fault
	for dev, list := range i.byDev {
		if deviceID != "" && dev != devid.Canon(deviceID) {
			continue
		}
		for _, a := range list {
			out = append(out, a.f)
		}
	}
	slices.SortFunc(out, func(a, b Fault) int { return a.Applied.Compare(b.Applied) })
	return out
}

// faultsOf returns the device's faults in force (i.mu held); deviceID in
// either case.
func (i *Injector) faultsOf(deviceID string) []*active {
	return i.byDev[devid.Canon(deviceID)]
}

// firstLocked returns the device's oldest fault of kind k in force, or nil.
func (i *Injector) firstLocked(deviceID string, k Kind) *active {
	for _, a := range i.faultsOf(deviceID) {
		if a.f.Spec.Kind == k {
			return a
		}
	}
	return nil
}

func newID() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(err)
	}
	return "FT" + hex.EncodeToString(b[:])
}

// DropLink closes the device's current link, if it has one, and refuses its
// reconnects (closing them before WELCOME) until RestoreLink. It may be
// called before the device first connects. It is Apply of a link-drop
// fault, unless one is already in force (then it does nothing: link-drops
// do not stack, so one RestoreLink undoes any number of DropLinks).
func (i *Injector) DropLink(deviceID string) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: DropLink: %w", err)
	}
	// Record first, then look up: a session registering concurrently
	// either sees the fault or is found by the lookup (the registry checks
	// LinkDropped under the lock it registers with).
	_, _, err := i.apply(deviceID, Spec{Kind: LinkDrop}, true)
	return err
}

// RestoreLink lets the device connect again after DropLink: it clears the
// device's link-drop faults. Restoring a link that is not dropped does
// nothing.
func (i *Injector) RestoreLink(deviceID string) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: RestoreLink: %w", err)
	}
	_, err := i.ClearAll(deviceID, LinkDrop)
	return err
}

// CloseChannel closes one of the device's open channels from the server's
// side: the device gets CLOSE with reason CHANNELCLOSEDBYSERVER.
func (i *Injector) CloseChannel(deviceID string, ch uint32) error {
	return i.closeChannelOp("CloseChannel", deviceID, ch, abi.ClosureReasonChannelClosedByServer)
}

// ResetChannel is CloseChannel with reason CHANNELRESETBYSERVER.
func (i *Injector) ResetChannel(deviceID string, ch uint32) error {
	return i.closeChannelOp("ResetChannel", deviceID, ch, abi.ClosureReasonChannelResetByServer)
}

func (i *Injector) closeChannelOp(op, deviceID string, ch uint32, reason abi.ClosureReason) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: %s: %w", op, err)
	}
	if err := i.closeChannel(deviceID, ch, reason); err != nil {
		return fmt.Errorf("faults: %s: %w", op, err)
	}
	return nil
}

func (i *Injector) closeChannel(deviceID string, ch uint32, reason abi.ClosureReason) error {
	l, ok := i.links.Link(deviceID)
	if !ok {
		return fmt.Errorf("device %s: %w", deviceID, ErrNotConnected)
	}
	if err := l.CloseChannel(ch, reason); err != nil {
		return fmt.Errorf("device %s channel %#x: %w", deviceID, ch, err)
	}
	return nil
}

// AnnounceUpdate tells a connected device that an application update has
// been downloaded for it: the kernel posts UPDATEDOWNLOADED to the
// application's UPDATE system notification streams (mvOpenSystemNotification
// with MV_SYSTEMNOTIFICATIONSOURCE_UPDATE). mvnet performs no real
// over-the-air updates; this lets applications test their update handling.
func (i *Injector) AnnounceUpdate(deviceID, description string) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: AnnounceUpdate: %w", err)
	}
	l, ok := i.links.Link(deviceID)
	if !ok {
		return fmt.Errorf("faults: AnnounceUpdate: device %s: %w", deviceID, ErrNotConnected)
	}
	l.AnnounceUpdate(description)
	return nil
}

// SetLatency delays every frame the cloud sends to the device by d, keeping
// their order; 0 clears it. It applies to frames queued from now on, on the
// current link and on later ones, and may be set before the device
// connects. It replaces the device's latency faults with one of d.
func (i *Injector) SetLatency(deviceID string, d time.Duration) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: SetLatency: %w", err)
	}
	if d < 0 {
		return fmt.Errorf("faults: SetLatency: device %s: negative latency %v", deviceID, d)
	}
	if _, err := i.ClearAll(deviceID, Latency); err != nil {
		return err
	}
	if d == 0 {
		return nil
	}
	_, err := i.Apply(deviceID, Spec{Kind: Latency, Delay: Duration(d)})
	return err
}

// Connected reports whether the device has a link to this cloud (its
// Links finds one), in either case of hex.
func (i *Injector) Connected(deviceID string) bool {
	_, ok := i.links.Link(devid.Canon(deviceID))
	return ok
}

// LinkDropped reports whether the device's link is dropped (sessions consult
// it when the device says HELLO).
func (i *Injector) LinkDropped(deviceID string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.firstLocked(deviceID, LinkDrop) != nil || i.linkDownLocked(deviceID)
}

// Latency is the delay in force for frames to the device (sessions consult
// it for every frame they send): the delays of its latency faults added,
// each plus a random part of its jitter.
func (i *Injector) Latency(deviceID string) time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	var d time.Duration
	for _, a := range i.faultsOf(deviceID) {
		if a.f.Spec.Kind != Latency {
			continue
		}
		d += time.Duration(a.f.Spec.Delay)
		if j := time.Duration(a.f.Spec.Jitter); j > 0 {
			d += time.Duration(a.rng.Int64N(int64(j)))
		}
	}
	return d
}
