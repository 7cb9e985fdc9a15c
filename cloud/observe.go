package cloud

import (
	"context"
	"sync"

	"github.com/mvnet/mvnet/cloud/session"
)

// Observation is one thing a device did through the cloud, as
// Options.Observe sees it: scenario engines (package scenario) trigger
// timeline steps and check expectations with them, and tests wait on them.
// The sessions make them (cloud/session/observe.go says where), each
// device's in its order.
type Observation = session.Observation

// ObservationKind says what an Observation reports.
type ObservationKind = session.ObservationKind

// The observations.
const (
	ObserveLinkUp        = session.ObserveLinkUp        // the device's link is up (WELCOME sent)
	ObserveLinkDown      = session.ObserveLinkDown      // the device's link ended
	ObserveHTTPRequest   = session.ObserveHTTPRequest   // an HTTP channel's request starts upstream
	ObserveMQTTConnect   = session.ObserveMQTTConnect   // an MQTT channel asks to connect (Broker)
	ObserveMQTTPublish   = session.ObserveMQTTPublish   // the device publishes (Topic, Payload, QoS)
	ObserveMQTTSubscribe = session.ObserveMQTTSubscribe // the device subscribes (Filters)
	ObserveServerLog     = session.ObserveServerLog     // the device logged a line (Text)
	ObserveDropped       = session.ObserveDropped       // Dropped observations were lost: the observer fell behind
)

// The bound of each device's queue of observations not yet delivered to
// Options.Observe: a slow observer costs at most this much memory per
// device. Past either bound the cloud drops the device's observations
// until the queue has been handed over, then delivers one ObserveDropped
// (Dropped = how many) after what it kept, so order is kept and a consumer
// knows it missed some (scenario expectations fail saying so).
const (
	MaxObserveBacklog      = 10000   // observations
	MaxObserveBacklogBytes = 8 << 20 // bytes of their text, payloads, URLs, topics (observationSize)
)

// observers hands sessions' observations to Options.Observe: queued per
// device (sessions make them under their locks, and must not wait), and
// delivered by one goroutine per device with observations waiting, in the
// order they were made. So Observe runs on no session's goroutine and
// under no lock: it may call the Server (apply a fault, say), and a
// device's observations never overlap.
//
// A virtual device's observation holds its clock (session.Config.Observe)
// until Options.Observe has returned from it, or until it is dropped: the
// device's time does not move on before the observer has seen what it
// did. An Options.Observe that must act on an observation later, on
// another goroutine, and have the device's time wait for that (the
// scenario engine's loop), takes a hold of its own on the device's clock
// (Server.DeviceClock) before it returns. Options.Observe must not wait
// for the device's time to move on.
type observers struct {
	fn      func(Observation)
	running sync.WaitGroup // delivering goroutines (Shutdown waits)

	mu      sync.Mutex
	q       map[string]*backlog        // a device is here while its goroutine runs
	waiters map[string][]chan struct{} // closed when the device's goroutine ends
}

// backlog is a device's observations waiting for delivery.
type backlog struct {
	obs     []held
	bytes   int // observationSize of obs
	dropped int // dropped since obs was last handed over: drop until then
}

// held is an observation waiting for delivery and the release of its
// hold on the device's clock.
type held struct {
	ob      Observation
	release func()
}

// observationSize is what an observation costs in the queue, for
// MaxObserveBacklogBytes: its variable parts and a fixed overhead.
func observationSize(ob *Observation) int {
	n := 256 + len(ob.Device) + len(ob.Method) + len(ob.URL) + len(ob.Broker) + len(ob.Topic) + len(ob.Payload) + len(ob.Text)
	for _, f := range ob.Filters {
		n += 16 + len(f)
	}
	return n
}

func newObservers(fn func(Observation)) *observers {
	return &observers{fn: fn, q: make(map[string]*backlog), waiters: make(map[string][]chan struct{})}
}

// drained is closed once every observation of dev queued so far has been
// delivered.
func (o *observers) drained(dev string) <-chan struct{} {
	ch := make(chan struct{})
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, running := o.q[dev]; !running {
		close(ch)
		return ch
	}
	o.waiters[dev] = append(o.waiters[dev], ch)
	return ch
}

// add queues o for delivery (session.Config.Observe), or drops it past
// the bounds (MaxObserveBacklog); release is called once it has been
// delivered or dropped.
func (o *observers) add(ob Observation, release func()) {
	size := observationSize(&ob)
	o.mu.Lock()
	b, running := o.q[ob.Device]
	if !running {
		b = &backlog{}
		o.q[ob.Device] = b
		o.running.Add(1)
	}
	dropped := b.dropped > 0 || len(b.obs) >= MaxObserveBacklog || b.bytes+size > MaxObserveBacklogBytes
	if dropped {
		b.dropped++
	} else {
		b.obs = append(b.obs, held{ob, release})
		b.bytes += size
	}
	o.mu.Unlock()
	if dropped {
		release()
	}
	if !running {
		go o.deliver(ob.Device)
	}
}

// deliver hands the device's observations to fn until none waits, each
// batch followed by an ObserveDropped if some were dropped after it.
func (o *observers) deliver(dev string) {
	defer o.running.Done()
	for {
		o.mu.Lock()
		b := o.q[dev]
		if len(b.obs) == 0 && b.dropped == 0 {
			delete(o.q, dev)
			for _, ch := range o.waiters[dev] {
				close(ch)
			}
			delete(o.waiters, dev)
			o.mu.Unlock()
			return
		}
		obs, dropped := b.obs, b.dropped
		*b = backlog{} // still running
		o.mu.Unlock()
		for _, h := range obs {
			o.fn(h.ob)
			h.release()
		}
		if dropped > 0 {
			o.fn(Observation{Device: dev, Kind: ObserveDropped, Dropped: dropped})
		}
	}
}

// WaitObservations returns once every observation of the device made so
// far has been handed to Options.Observe, or with ctx's error. Observations
// are delivered on the cloud's goroutines, possibly after the device has
// its answer: a caller judging them when the application ends (a
// scenario's Finish) waits for them first. Without Options.Observe it
// returns at once.
func (s *Server) WaitObservations(ctx context.Context, deviceID string) error {
	if s.observe == nil {
		return nil
	}
	select {
	case <-s.observe.drained(deviceID):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
