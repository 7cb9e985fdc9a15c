package cloud

import "github.com/mvnet/mvnet/cloud/session"

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
