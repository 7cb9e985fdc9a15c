package cloud

// Observation is one thing a device did through the cloud, as
// Options.Observe sees it: scenario engines (package scenario) trigger
// timeline steps and check expectations with them, and tests wait on them.
type Observation struct {
	Device string          // the device's ID
	Kind   ObservationKind // what happened
	// HTTP requests: the request's method and URL, as the cloud sends it
	// upstream (before any fault or replay layer).
	Method, URL string
	// MQTT: the connect's broker ("host:port"); the topic of a publish; the
	// filters of a subscribe or unsubscribe. Payload and QoS of a publish.
	Broker  string
	Topic   string
	Filters []string
	Payload []byte
	QoS     uint8
	// Server log lines (mvServerLog): the line.
	Text string
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
)
