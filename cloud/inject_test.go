package cloud_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
)

// TestInjectMQTTChecksFirst: an invalid topic or QoS is an error naming
// it whether or not the device has an MQTT channel, or a link; a valid
// message to a device without MQTT channels reaches none.
func TestInjectMQTTChecksFirst(t *testing.T) {
	s := newServer(t)
	connect(t, s, 1).SyncQuiet() // connected, no channel
	for _, id := range []string{fakedev.ID(1), fakedev.ID(2)} {
		for _, c := range []struct {
			topic string
			qos   uint8
			want  string
		}{
			{"cmd/#", 0, `"cmd/#" is not a valid topic name`},
			{"", 0, `"" is not a valid topic name`},
			{"cmd/led", 2, "QoS 2"},
		} {
			_, err := s.InjectMQTT(id, c.topic, []byte("x"), c.qos)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("InjectMQTT(%s, %q, qos %d): %v, want an error with %q", id, c.topic, c.qos, err, c.want)
			}
		}
	}
	if n, err := s.InjectMQTT(fakedev.ID(1), "cmd/led", []byte("x"), 1); n != 0 || err != nil {
		t.Errorf("valid message, no MQTT channel: %d, %v; want 0, nil", n, err)
	}
	if _, err := s.InjectMQTT(fakedev.ID(2), "cmd/led", []byte("x"), 1); !errors.Is(err, faults.ErrNotConnected) {
		t.Errorf("valid message, device not connected: %v, want ErrNotConnected", err)
	}
}
