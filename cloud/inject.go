package cloud

import (
	"fmt"
	"net/http"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
)

// InjectMQTT delivers a message on topic to the device's MQTT channels
// that are connected to a broker and subscribed to a filter matching
// topic, as if their brokers had sent it: the device gets the same
// MESSAGERECEIVED item and notification, at the lower of qos and the
// subscription's granted QoS. No broker is involved: the device's
// acknowledgement of a QoS 1 injected message goes nowhere upstream. It
// returns how many channels got the message (0 when no subscription
// matches, or no channel is connected to a broker); the error says the
// device's link is not connected (faults.ErrNotConnected), or that topic (a
// topic name: no wildcards) or qos (0 or 1) is invalid.
func (s *Server) InjectMQTT(deviceID, topic string, payload []byte, qos uint8) (delivered int, err error) {
	if err := devid.Check(deviceID); err != nil {
		return 0, fmt.Errorf("cloud: InjectMQTT: %w", err)
	}
	// Checked first: a bad message is an error whether or not the device
	// has a channel to reach.
	if err := mqttbridge.CheckInject(topic, qos); err != nil {
		return 0, fmt.Errorf("cloud: InjectMQTT: %w", err)
	}
	s.mu.Lock()
	sess, ok := s.byID[deviceID]
	s.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("cloud: InjectMQTT: device %s: %w", deviceID, faults.ErrNotConnected)
	}
	n, err := sess.InjectMQTT(topic, payload, qos)
	if err != nil {
		return n, fmt.Errorf("cloud: InjectMQTT: device %s: %w", deviceID, err)
	}
	return n, nil
}

// wrapOuter layers outer around the user's wrap (nil: none): the
// transport the cloud uses is outer(user(base)).
func wrapOuter(user, outer func(http.RoundTripper) http.RoundTripper) func(http.RoundTripper) http.RoundTripper {
	return func(base http.RoundTripper) http.RoundTripper {
		if user != nil {
			if base = user(base); base == nil {
				return nil // httpexec.New reports it
			}
		}
		return outer(base)
	}
}
