package cloud

import (
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
)

// observers hands sessions' observations to Options.Observe: queued per
// device (sessions make them under their locks, and must not wait), and
// delivered by one goroutine per device with observations waiting, in the
// order they were made. So Observe runs on no session's goroutine and
// under no lock: it may call the Server (apply a fault, say), and a
// device's observations never overlap.
type observers struct {
	fn      func(Observation)
	running sync.WaitGroup // delivering goroutines (Shutdown waits)

	mu sync.Mutex
	q  map[string][]Observation // a device is here while its goroutine runs
}

func newObservers(fn func(Observation)) *observers {
	return &observers{fn: fn, q: make(map[string][]Observation)}
}

// add queues o for delivery (session.Config.Observe).
func (o *observers) add(ob Observation) {
	o.mu.Lock()
	q, running := o.q[ob.Device]
	o.q[ob.Device] = append(q, ob)
	if !running {
		o.running.Add(1)
	}
	o.mu.Unlock()
	if !running {
		go o.deliver(ob.Device)
	}
}

// deliver hands the device's observations to fn until none waits.
func (o *observers) deliver(dev string) {
	defer o.running.Done()
	for {
		o.mu.Lock()
		q := o.q[dev]
		if len(q) == 0 {
			delete(o.q, dev)
			o.mu.Unlock()
			return
		}
		o.q[dev] = nil // still running
		o.mu.Unlock()
		for _, ob := range q {
			o.fn(ob)
		}
	}
}
