package session

import (
	"bytes"
	"net"
	"strconv"

	"github.com/mvnet/mvnet/link"
)

// Observation is one thing a device did through the cloud, as
// Config.Observe sees it (cloud.Observation is the same type): scenario
// engines trigger timeline steps and check expectations with them, and
// tests wait on them.
type Observation struct {
	Device string          // the device's ID
	Kind   ObservationKind // what happened
	// Seq (server log lines) is the device's sequence number of the line:
	// the kernel resends lines not yet acknowledged on its next link, with
	// the same numbers (the cloud observes each line once).
	Seq uint64
	// HTTP requests: the request's method and URL, as the cloud sends it
	// upstream (before any fault or replay layer).
	Method, URL string
	// MQTT: the connect's broker ("host:port"); the topic of a publish; the
	// filters of a subscribe. Payload and QoS of a publish.
	Broker  string
	Topic   string
	Filters []string
	Payload []byte
	QoS     uint8
	// Server log lines (mvServerLog): the line.
	Text string
	// ObserveDropped: how many of the device's observations were dropped
	// (the observer fell behind by more than the cloud queues).
	Dropped int
}

// ObservationKind says what an Observation reports.
type ObservationKind string

// The observations.
const (
	ObserveLinkUp        ObservationKind = "link-up"        // the device's link is up (WELCOME sent)
	ObserveLinkDown      ObservationKind = "link-down"      // the device's link ended
	ObserveHTTPRequest   ObservationKind = "http-request"   // an HTTP channel's request starts upstream
	ObserveMQTTConnect   ObservationKind = "mqtt-connect"   // an MQTT channel asks to connect (Broker)
	ObserveMQTTPublish   ObservationKind = "mqtt-publish"   // the device publishes (Topic, Payload, QoS)
	ObserveMQTTSubscribe ObservationKind = "mqtt-subscribe" // the device subscribes (Filters)
	ObserveServerLog     ObservationKind = "server-log"     // the device logged a line (Text)
	// ObserveDropped is not made by sessions: the cloud delivers it in
	// place of observations it dropped because the observer fell behind
	// (Dropped says how many).
	ObserveDropped ObservationKind = "dropped"
)

// Observations are made where the session handles what the device did,
// under the session's mu: WELCOME sent (link-up), a whole HTTP request
// accepted, an MQTT request handed to the broker session, a log line
// accepted unless logging is known to be disabled (a line arriving before
// the store said whether it is, right after WELCOME, is observed), and
// the link's end (link-down: once, when the session is closed or its link
// ends, whichever comes first; nothing of the session is observed after
// it). A log line the device sends again after a reconnect (it was not
// acknowledged) is observed again. Config.Observe is called under mu, so
// each device's observations are made in its order, and a device's old
// link's link-down comes before its new link's link-up (the cloud closes
// the old session before the new one sends WELCOME).

//
// On a virtual clock an observation holds the device's clock from when it
// is made until Config.Observe's consumer has handled it (the cloud: until
// its Options.Observe has returned), so that what an observer does about
// it — a scenario's when: step applying a fault, say — is done before the
// device's time moves on (link/doc.go, "Virtual time"): the device's next
// SYNC is answered after it.

// observeLocked hands o to Config.Observe, unless the link's end has been
// observed.
func (s *Session) observeLocked(o Observation) {
	if s.cfg.Observe == nil || s.obsDone {
		return
	}
	o.Device = s.DeviceID()
	s.cfg.Observe(o, s.hold())
}

// observeDownLocked observes the link's end, once, if it was up.
func (s *Session) observeDownLocked() {
	if s.welcome {
		s.observeLocked(Observation{Kind: ObserveLinkDown})
	}
	s.obsDone = true
}

// observeMQTTLocked queues what an MQTT request tells (connect, publish,
// subscribe).
func (s *Session) observeMQTTLocked(req link.MQTTRequest) {
	switch r := req.(type) {
	case *link.MQTTConnectRequest:
		s.observeLocked(Observation{Kind: ObserveMQTTConnect, Broker: net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port)))})
	case *link.MQTTPublishRequest:
		// The payload aliases the request buffer, which is reused.
		s.observeLocked(Observation{Kind: ObserveMQTTPublish, Topic: r.Topic, Payload: bytes.Clone(r.Payload), QoS: r.QoS})
	case *link.MQTTSubscribeRequest:
		filters := make([]string, len(r.Subscriptions))
		for i, sub := range r.Subscriptions {
			filters[i] = sub.Topic
		}
		s.observeLocked(Observation{Kind: ObserveMQTTSubscribe, Filters: filters})
	}
}
