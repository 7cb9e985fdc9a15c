package cassette_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// Hand-written cassettes (the format is documented in
// docs/record-replay.md): what replay does with requests that match, that
// do not, and that repeat.

const handBase = "https://api.mvnet.test:8443"

func get(path, body string) cassette.HTTPExchange {
	return cassette.HTTPExchange{
		Request:  cassette.HTTPRequest{Method: "GET", URL: handBase + path},
		Response: &cassette.HTTPReply{Status: 200, Header: http.Header{"X-Path": {path}}, Data: cassette.Data{Text: body}},
	}
}

func after(i int) *int { return &i }

func raw(b ...byte) string { return base64.StdEncoding.EncodeToString(b) }

// handMQTT is a session to 127.0.0.1:1883: CONNECT "c1" → CONNACK;
// SUBSCRIBE "a/b" with packet ID 7 → SUBACK for 7; then more.
func handMQTT(more ...cassette.MQTTPacket) cassette.MQTTSession {
	return cassette.MQTTSession{Addr: "127.0.0.1:1883", Packets: append([]cassette.MQTTPacket{
		{Dir: "client", Type: "CONNECT", Version: 4, ClientID: "c1"},
		{Dir: "broker", Type: "CONNACK", After: after(0), Raw: raw(0x20, 2, 0, 0)},
		{Dir: "client", Type: "SUBSCRIBE", PacketID: 7, Filters: []cassette.MQTTFilter{{Filter: "a/b", QoS: 1}}},
		{Dir: "broker", Type: "SUBACK", After: after(2), PacketID: 7, Raw: raw(0x90, 3, 0, 7, 1)},
	}, more...)}
}

// replayRig is a replaying cloud and a device joined to it.
type replayRig struct {
	rep *cassette.Replayer
	d   *device.Device
	n   *device.Net
	ctx context.Context
}

func newReplayRig(t *testing.T, c *cassette.Cassette, o cassette.Options) *replayRig {
	t.Helper()
	c.Version = cassette.Version
	rep := cassette.NewReplayer(c, o)
	d, n, ctx := boot(t, newCloud(t, replayOptions(rep)))
	return &replayRig{rep: rep, d: d, n: n, ctx: ctx}
}

func (r *replayRig) get(t *testing.T, path string) *device.HTTPResponse {
	t.Helper()
	resp, err := r.d.HTTP(r.ctx, r.n, device.HTTPRequest{Method: "GET", URL: handBase + path, TimeoutMS: 10000}, 2048, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestReplayHTTPMismatchNamesClosest: a request not in the cassette fails
// where the device sees it (REQUESTFAILED, with the mismatch as the
// channel's diagnostic) and is reported with the closest recorded request.
func TestReplayHTTPMismatchNamesClosest(t *testing.T) {
	r := newReplayRig(t, &cassette.Cassette{HTTP: []cassette.HTTPExchange{get("/hello", "hi"), get("/status", "up")}}, cassette.Options{})
	if resp := r.get(t, "/hello"); resp.Result != abi.HTTPResultOK || string(resp.Body) != "hi" {
		t.Fatalf("GET /hello: %s %q, want OK \"hi\"", resp.Result, resp.Body)
	}
	resp := r.get(t, "/hellp")
	if resp.Result != abi.HTTPResultRequestFailed {
		t.Fatalf("GET /hellp: %s, want REQUESTFAILED", resp.Result)
	}
	ms := r.rep.Mismatches()
	if len(ms) != 1 {
		t.Fatalf("mismatches %v, want one", ms)
	}
	m := ms[0]
	if m.Kind != "http" || m.Request != "GET "+handBase+"/hellp" || m.Closest != "GET "+handBase+"/hello" || m.Device != deviceID {
		t.Errorf("mismatch %+v", m)
	}
	if u := r.rep.Unused(); len(u) != 1 || u[0] != "http GET "+handBase+"/status" {
		t.Errorf("unused %q, want the one exchange never asked", u)
	}
	if !strings.Contains(resp.Diagnostic, "closest recorded: GET "+handBase+"/hello") {
		t.Errorf("device diagnostic %q does not name the closest recorded request", resp.Diagnostic)
	}
}

// TestReplayRepeatsInRecordedOrder: identical requests get the recorded
// answers in order; one more is a mismatch, or the last answer again with
// AllowRepeats.
func TestReplayRepeatsInRecordedOrder(t *testing.T) {
	for _, allow := range []bool{false, true} {
		r := newReplayRig(t, &cassette.Cassette{HTTP: []cassette.HTTPExchange{get("/n", "one"), get("/other", "x"), get("/n", "two")}},
			cassette.Options{AllowRepeats: allow})
		for _, want := range []string{"one", "two"} {
			if resp := r.get(t, "/n"); string(resp.Body) != want {
				t.Fatalf("GET /n: %s %q, want %q", resp.Result, resp.Body, want)
			}
		}
		resp := r.get(t, "/n")
		switch {
		case allow && (resp.Result != abi.HTTPResultOK || string(resp.Body) != "two"):
			t.Errorf("AllowRepeats: third GET /n: %s %q, want the last answer again", resp.Result, resp.Body)
		case !allow && resp.Result != abi.HTTPResultRequestFailed:
			t.Errorf("third GET /n: %s, want REQUESTFAILED", resp.Result)
		case !allow && (len(r.rep.Mismatches()) != 1 || !strings.Contains(r.rep.Mismatches()[0].Reason, "more often than recorded (recorded 2)")):
			t.Errorf("mismatches %v, want one saying the request was asked more often than recorded", r.rep.Mismatches())
		}
	}
}

// connected opens an MQTT channel and connects it as "c1" to 127.0.0.1:1883
// (handMQTT's session).
func (r *replayRig) connected(t *testing.T) *mqttCh {
	t.Helper()
	m := openMQTT(t, r.d, r.n, r.ctx, 0x4d5154)
	m.connect(1883, "c1")
	if got := m.next(); !strings.Contains(got, "REQUESTCOMPLETED ReasonCode:0") {
		t.Fatalf("connect: %s", got)
	}
	return m
}

// TestReplayMQTTRemapsPacketIDs: the bridge's packet IDs differ from the
// recording's (7): the SUBACK is sent with the live ID, so the device's
// subscribe completes.
func TestReplayMQTTRemapsPacketIDs(t *testing.T) {
	r := newReplayRig(t, &cassette.Cassette{MQTT: []cassette.MQTTSession{handMQTT()}}, cassette.Options{})
	m := r.connected(t)
	m.subscribe(3, "a/b")
	if got := m.next(); !strings.Contains(got, "REQUESTCOMPLETED CorrelationID:3 ReasonCodes:[1]") {
		t.Fatalf("subscribe: %s, want completed with QoS 1 granted", got)
	}
	if ms := r.rep.Mismatches(); len(ms) != 0 {
		t.Errorf("mismatches: %v", ms)
	}
}

// TestReplayMQTTMismatchClosesStream: a packet the session did not record
// ends the broker stream (the device sees the session lost) and is
// reported with the closest recorded packet.
func TestReplayMQTTMismatchClosesStream(t *testing.T) {
	r := newReplayRig(t, &cassette.Cassette{MQTT: []cassette.MQTTSession{handMQTT()}}, cassette.Options{})
	m := r.connected(t)
	m.subscribe(3, "a/c")
	got := m.next()
	t.Logf("device saw: %s", got)
	if strings.Contains(got, "REQUESTCOMPLETED") {
		t.Errorf("subscribe to a/c: %s, want a failure", got)
	}
	ms := r.rep.Mismatches()
	if len(ms) != 1 || ms[0].Kind != "mqtt" || ms[0].Request != `SUBSCRIBE "a/c" qos 1` || ms[0].Closest != `SUBSCRIBE "a/b" qos 1` {
		t.Fatalf("mismatches %+v, want the SUBSCRIBE to a/c with a/b closest", ms)
	}
	if u := r.rep.Unused(); len(u) != 1 || u[0] != `mqtt session 0: SUBSCRIBE "a/b" qos 1` {
		t.Errorf("unused %q, want the SUBSCRIBE never matched", u)
	}
}

// TestReplayMQTTConnects: a connect with another client ID and one to an
// address never recorded are mismatches; a connect that failed in the
// recording fails again; a broker that closed the stream closes it again
// (the device sees an unsolicited NOTCONNECTED disconnect response).
func TestReplayMQTTConnects(t *testing.T) {
	refused := cassette.MQTTSession{Addr: "127.0.0.1:1999", Packets: []cassette.MQTTPacket{},
		Error: &cassette.ErrorRecord{Kind: "refused", Message: "dial tcp 127.0.0.1:1999: connect: connection refused"}}
	closing := handMQTT(cassette.MQTTPacket{Dir: "broker", Type: "CLOSE", After: after(2)})
	r := newReplayRig(t, &cassette.Cassette{MQTT: []cassette.MQTTSession{refused, closing}}, cassette.Options{})
	step := func(port uint16, clientID, want string) {
		t.Helper()
		m := openMQTT(t, r.d, r.n, r.ctx, 0x4d5154)
		defer r.d.CloseChannel(m.ch)
		m.connect(port, clientID)
		got := m.next()
		if strings.Contains(got, "REQUESTCOMPLETED") && clientID == "c1" {
			m.subscribe(1, "a/b")
			got = m.next() + "; then " + m.next()
		}
		t.Logf("%s to %d: %s", clientID, port, got)
		if !strings.Contains(got, want) {
			t.Errorf("%s to %d: device saw %q, want %q", clientID, port, got, want)
		}
	}
	step(1999, "c1", "SOCKETERROR")
	step(1883, "c2", "SOCKETERROR")
	step(1884, "c1", "SOCKETERROR")
	step(1883, "c1", "ReasonCodes:[1]}; then disconnect response MV_STATUS_OKAY: {RequestState:MV_MQTTREQUESTSTATE_NOTCONNECTED")
	ms := r.rep.Mismatches()
	if len(ms) != 2 || !strings.Contains(ms[0].Request, `CONNECT client "c2"`) || !strings.Contains(ms[0].Closest, `CONNECT client "c1"`) ||
		ms[1].Request != "connect to 127.0.0.1:1884" {
		t.Errorf("mismatches %+v", ms)
	}
}
