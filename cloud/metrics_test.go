package cloud_test

import (
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/metrics"
)

// The cloud counts the links it admits and those it refuses, by reason,
// and its gauges follow the devices connected and the links handshaking.
func TestMetricsCountLinks(t *testing.T) {
	reg := prometheus.NewRegistry()
	series := func() map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		return metrics.Series(mfs)
	}
	refused := func(reason string) float64 {
		return series()[`mvnet_links_refused_total{reason="`+reason+`"}`]
	}
	devices := &registry{devices: map[string]bool{fakedev.ID(1): true}}
	_, ca, addr := tlsCloudWith(t, cloud.Options{Registry: devices, Metrics: metrics.New(reg),
		MaxHandshakesPerIP: 1, ClientHelloTimeout: time.Hour, HandshakeTimeout: time.Hour})

	conn := mustDial(t, tlsDialer(t, ca, 1, addr))
	fakedev.New(t, conn).Hello(fakedev.ID(1))
	if got := series(); got["mvnet_links_accepted_total"] != 1 || got["mvnet_devices_connected"] != 1 {
		t.Errorf("after one HELLO: accepted %v, connected %v", got["mvnet_links_accepted_total"], got["mvnet_devices_connected"])
	}

	// A silent connection holds 127.0.0.1's one handshake; the next is
	// refused at once (busy); the silent one, closed, ends before HELLO.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the silent link to be handshaking", func() bool { return series()["mvnet_handshakes_in_progress"] == 1 })
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	eventually(t, "a busy refusal", func() bool { return refused("busy") == 1 })
	silent.Close()
	eventually(t, "a handshake refusal", func() bool { return refused("handshake") == 1 })

	// A device the registry does not know: refused after its TLS
	// handshake.
	fakedev.New(t, mustDial(t, tlsDialer(t, ca, 2, addr))).ExpectError()
	eventually(t, "a not_registered refusal", func() bool { return refused("not_registered") == 1 })

	conn.Close()
	eventually(t, "no device connected", func() bool { return series()["mvnet_devices_connected"] == 0 })
	if got := series(); got["mvnet_links_accepted_total"] != 1 || got["mvnet_handshakes_in_progress"] != 0 {
		t.Errorf("at the end: accepted %v, handshaking %v", got["mvnet_links_accepted_total"], got["mvnet_handshakes_in_progress"])
	}
}
