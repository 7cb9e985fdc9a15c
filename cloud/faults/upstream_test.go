package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
)

// Unit tests of the upstream layers; test/faults_upstream*_test.go runs
// them end to end through the device's ABI.

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// chunked answers with body, its length unknown (as a chunked response).
func chunked(body string, calls *int) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		*calls++
		return &http.Response{StatusCode: 200, ContentLength: -1, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
}

func do(t *testing.T, rt http.RoundTripper, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

func TestWrapTransportOnlyForTheDevice(t *testing.T) {
	inj, _ := setup()
	calls := 0
	rt := inj.WrapTransport(chunked("0123456789", &calls))
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.HTTPStatus, Status: 500}); err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []context.Context{context.Background(), devctx.With(context.Background(), other)} {
		resp, err := do(t, rt, ctx, "https://a.example/x")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("another device's request: %v %v", resp, err)
		}
	}
	resp, err := do(t, rt, devctx.With(context.Background(), dev), "https://a.example/x")
	if err != nil || resp.StatusCode != 500 || calls != 2 {
		t.Fatalf("the device's request: %v %v, %d upstream calls (want 500, 2 calls)", resp, err, calls)
	}
}

func TestTruncateUnknownLength(t *testing.T) {
	inj, _ := setup()
	calls := 0
	rt := inj.WrapTransport(chunked("0123456789", &calls))
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.HTTPTruncate}); err != nil {
		t.Fatal(err)
	}
	resp, err := do(t, rt, devctx.With(context.Background(), dev), "https://a.example/x")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if string(b) != "01234" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("body %q, %v; want half of it, then an unexpected EOF", b, err)
	}
	// A body no longer than bytes is whole.
	inj.ClearAll(dev)
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.HTTPTruncate, Bytes: 10}); err != nil {
		t.Fatal(err)
	}
	resp, _ = do(t, rt, devctx.With(context.Background(), dev), "https://a.example/x")
	if b, err := io.ReadAll(resp.Body); string(b) != "0123456789" || err != nil {
		t.Fatalf("body %q, %v; want it whole", b, err)
	}
}

func TestHTTPDelayCancelled(t *testing.T) {
	inj, _ := setup()
	calls := 0
	rt := inj.WrapTransport(chunked("x", &calls))
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.HTTPDelay, Delay: faults.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(devctx.With(context.Background(), dev))
	done := make(chan error, 1)
	go func() {
		_, err := do(t, rt, ctx, "https://a.example/x")
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || calls != 0 {
			t.Fatalf("cancelled delayed request: %v, %d upstream calls", err, calls)
		}
	case <-time.After(time.Minute):
		t.Fatal("a cancelled request still waits for its delay")
	}
}

// brokerPipe returns a connector whose streams are one end of a pipe; the
// other ends come out of the channel.
func brokerPipe() (mqttbridge.Connector, chan net.Conn) {
	ends := make(chan net.Conn, 4)
	return func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
		c, b := net.Pipe()
		ends <- b
		return c, nil
	}, ends
}

func publish(t *testing.T, topic string, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: topic, Payload: payload, ProtocolVersion: 4}
	if err := pk.PublishEncode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readTopics reads n packets from r and returns each PUBLISH's topic and
// "PINGRESP" for the others.
func readTopics(t *testing.T, r io.Reader, n int) []string {
	t.Helper()
	br := bufio.NewReader(r)
	var out []string
	for range n {
		hb, err := br.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		l, _, err := packets.DecodeLength(br)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, l)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatal(err)
		}
		if hb>>4 != packets.Publish {
			out = append(out, "PINGRESP")
			continue
		}
		pk := packets.Packet{ProtocolVersion: 4}
		if err := pk.PublishDecode(body); err != nil {
			t.Fatal(err)
		}
		out = append(out, pk.TopicName)
	}
	return out
}

// TestStreamDropKeepsOrder: a dropped PUBLISH (large, written in small
// pieces) vanishes whole; the packets around it come through in order.
func TestStreamDropKeepsOrder(t *testing.T) {
	inj, _ := setup()
	base, ends := brokerPipe()
	connect := inj.WrapConnect(base)
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.MQTTDrop, Topic: "a/+/x"}); err != nil {
		t.Fatal(err)
	}
	conn, err := connect(devctx.With(context.Background(), dev), "broker.example:1883", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	broker := <-ends
	var stream []byte
	stream = append(stream, publish(t, "a/b/y", []byte("one"))...)
	stream = append(stream, publish(t, "a/b/x", bytes.Repeat([]byte("z"), 40000))...)
	stream = append(stream, 0xD0, 0x00) // PINGRESP
	stream = append(stream, publish(t, "a/c/x", nil)...)
	stream = append(stream, publish(t, "a/b", []byte("two"))...)
	go func() {
		for len(stream) > 0 {
			n := min(len(stream), 7)
			if _, err := broker.Write(stream[:n]); err != nil {
				return
			}
			stream = stream[n:]
		}
	}()
	got := readTopics(t, conn, 3)
	if strings.Join(got, " ") != "a/b/y PINGRESP a/b" {
		t.Fatalf("got %v, want a/b/y PINGRESP a/b", got)
	}
}

// TestStreamDropSeeded: loss with a seed drops the same messages every
// time.
func TestStreamDropSeeded(t *testing.T) {
	pattern := func() string {
		inj, _ := setup()
		base, ends := brokerPipe()
		if _, err := inj.Apply(dev, faults.Spec{Kind: faults.MQTTDrop, Loss: 0.5, Seed: 42}); err != nil {
			t.Fatal(err)
		}
		conn, err := inj.WrapConnect(base)(devctx.With(context.Background(), dev), "b:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		broker := <-ends
		go func() {
			for i := range 40 {
				_, _ = broker.Write(publish(t, "t/"+string(rune('A'+i)), nil))
			}
			_, _ = broker.Write(publish(t, "end", nil))
		}()
		var got []string
		for {
			topic := readTopics(t, conn, 1)[0]
			if topic == "end" {
				return strings.Join(got, "")
			}
			got = append(got, strings.TrimPrefix(topic, "t/"))
		}
	}
	a, b := pattern(), pattern()
	if a != b || len(a) == 0 || len(a) == 40 {
		t.Fatalf("kept %q then %q; want the same, some dropped", a, b)
	}
}

// TestStreamCut: mqtt-disconnect cuts the device's streams to matching
// hosts: reads and writes fail with a connection reset; others go on.
func TestStreamCut(t *testing.T) {
	inj, _ := setup()
	base, ends := brokerPipe()
	connect := inj.WrapConnect(base)
	open := func(d, host string) (net.Conn, net.Conn) {
		c, err := connect(devctx.With(context.Background(), d), host+":1883", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, <-ends
	}
	cut, _ := open(dev, "one.example")
	kept, keptBroker := open(dev, "two.example")
	otherDev, otherBroker := open(other, "one.example")
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.MQTTDisconnect, Host: "ONE.*"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cut.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read on a cut stream: %v, want ECONNRESET", err)
	}
	if _, err := cut.Write([]byte{0xC0, 0}); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write on a cut stream: %v, want ECONNRESET", err)
	}
	for _, p := range []struct{ c, b net.Conn }{{kept, keptBroker}, {otherDev, otherBroker}} {
		go func() { _, _ = p.b.Write([]byte{0xD0, 0}) }()
		if got := readTopics(t, p.c, 1); got[0] != "PINGRESP" {
			t.Fatalf("a stream not cut: %v", got)
		}
	}
	// Nothing left to cut for the device on that host: the one-shot fails.
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.MQTTDisconnect, Host: "one.example"}); !errors.Is(err, faults.ErrNoBrokerSession) {
		t.Fatalf("second mqtt-disconnect: %v, want ErrNoBrokerSession", err)
	}
}

// TestRefuseWithoutBroker: a connect under mqtt-refuse gets its CONNACK
// from the cloud; the base connector is never called.
func TestRefuseWithoutBroker(t *testing.T) {
	inj, _ := setup()
	base, ends := brokerPipe()
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.MQTTRefuse, ReasonCode: 0x86}); err != nil {
		t.Fatal(err)
	}
	conn, err := inj.WrapConnect(base)(devctx.With(context.Background(), dev), "b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if code := connack(t, conn, 5); code != 0x86 {
		t.Fatalf("CONNACK reason %#x; want 0x86", code)
	}
	if len(ends) != 0 {
		t.Fatal("the broker was contacted")
	}
}

// TestStreamDelayEndsOnClose: a PUBLISH held by mqtt-delay holds the
// reader; closing the stream ends the wait at once.
func TestStreamDelayEndsOnClose(t *testing.T) {
	inj, _ := setup()
	base, ends := brokerPipe()
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.MQTTDelay, Delay: faults.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	conn, err := inj.WrapConnect(base)(devctx.With(context.Background(), dev), "b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	broker := <-ends
	done := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 64))
		done <- err
	}()
	// A pipe's Write returns once the reader has taken every byte: the
	// PUBLISH is in the stream, held.
	if _, err := broker.Write(publish(t, "t", []byte("held"))); err != nil {
		t.Fatal(err)
	}
	// On the wall clock the wait counts against the bridge's ping timeout
	// like a slow network's.
	if conn.(mqttbridge.PacketHolder).Holding() {
		t.Fatal("Holding on the wall clock")
	}
	conn.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read a held PUBLISH")
		}
	case <-time.After(time.Minute):
		t.Fatal("closing the stream did not end the held read")
	}
}

// wrappedTLS is a layer's wrapper of a TLS stream (as the cassette
// recorder's): not a *tls.Conn, but with the TLS state.
type wrappedTLS struct{ net.Conn }

func (wrappedTLS) ConnectionState() tls.ConnectionState {
	return tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
}

// TestStreamKeepsWrappedTLS: the fault layer over a connector whose
// streams are TLS behind another layer keeps them TLS for the bridge
// (mqttbridge.TLSStater), with the inner stream's state; a plain stream
// stays plain.
func TestStreamKeepsWrappedTLS(t *testing.T) {
	inj, _ := setup()
	base, ends := brokerPipe()
	tlsBase := func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
		c, err := base(ctx, addr, conf)
		return wrappedTLS{c}, err
	}
	ctx := devctx.With(context.Background(), dev)
	conn, err := inj.WrapConnect(tlsBase)(ctx, "b:8883", &tls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-ends
	st, ok := conn.(mqttbridge.TLSStater)
	if !ok {
		t.Fatalf("the fault layer's stream %T hides the TLS of the layer below", conn)
	}
	if s := st.ConnectionState(); s.Version != tls.VersionTLS13 || !s.HandshakeComplete {
		t.Fatalf("TLS state %+v, want the inner stream's", s)
	}
	plain, err := inj.WrapConnect(base)(ctx, "b:1883", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	<-ends
	if _, ok := plain.(mqttbridge.TLSStater); ok {
		t.Fatal("a plain stream looks like TLS")
	}
}

// countingBody counts the bytes read from it.
type countingBody struct {
	r io.Reader
	n int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func (c *countingBody) Close() error { return nil }

// TestTruncateReadsAtMostMaxBody: http-truncate without bytes, on a body
// of unknown length, reads at most one byte past the largest body the
// cloud passes on (SetMaxBody) to find the middle.
func TestTruncateReadsAtMostMaxBody(t *testing.T) {
	inj, _ := setup()
	inj.SetMaxBody(512)
	body := &countingBody{r: strings.NewReader(strings.Repeat("z", 1<<20))}
	rt := inj.WrapTransport(rtFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, ContentLength: -1, Body: body, Request: r}, nil
	}))
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.HTTPTruncate}); err != nil {
		t.Fatal(err)
	}
	resp, err := do(t, rt, devctx.With(context.Background(), dev), "https://a.example/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if body.n > 513 {
		t.Fatalf("read %d bytes of the body to truncate it, want at most 513", body.n)
	}
	b, _ := io.ReadAll(resp.Body)
	if len(b) != 513/2 {
		t.Fatalf("kept %d bytes, want %d", len(b), 513/2)
	}
}

// refusedWith connects under the injector's faults with a CONNECT of MQTT
// version v and returns the CONNACK's code.
func refusedWith(t *testing.T, inj *faults.Injector, v byte) byte {
	t.Helper()
	base, _ := brokerPipe()
	conn, err := inj.WrapConnect(base)(devctx.With(context.Background(), dev), "b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return connack(t, conn, v)
}

// connack sends a CONNECT of MQTT version v on conn and returns the code of
// the CONNACK it gets back.
func connack(t *testing.T, conn net.Conn, v byte) byte {
	t.Helper()
	name := "MQTT"
	if v == 3 {
		name = "MQIsdp"
	}
	connect := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: v,
		Connect: packets.ConnectParams{ProtocolName: []byte(name), ClientIdentifier: "c", Clean: true}}
	var buf bytes.Buffer
	if err := connect.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = conn.Write(buf.Bytes()) }()
	br := bufio.NewReader(conn)
	hb, _ := br.ReadByte()
	n, _, _ := packets.DecodeLength(br)
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil || hb>>4 != packets.Connack {
		t.Fatalf("CONNACK: %#x %v", hb, err)
	}
	ack := packets.Packet{ProtocolVersion: v}
	if err := ack.ConnackDecode(body); err != nil {
		t.Fatal(err)
	}
	return ack.ReasonCode
}

// TestRefuseCodeFitsVersion: mqtt-refuse answers each connection with a
// refusal valid for its MQTT version: a code of the other version is
// mapped to the one of the same meaning (else "not authorized").
func TestRefuseCodeFitsVersion(t *testing.T) {
	for _, c := range []struct {
		code int
		v    byte
		want byte
	}{
		{0, 4, 5}, {0, 5, 0x87}, // defaults
		{4, 4, 4}, {0x86, 5, 0x86}, // valid as given
		{4, 5, 0x86}, {0x86, 4, 4}, {2, 5, 0x85}, {0x88, 3, 3}, // the same meaning
		{0x99, 4, 5}, // none: not authorized
	} {
		inj, _ := setup()
		if _, err := inj.Apply(dev, faults.Spec{Kind: faults.MQTTRefuse, ReasonCode: c.code}); err != nil {
			t.Fatal(err)
		}
		if got := refusedWith(t, inj, c.v); got != c.want {
			t.Errorf("reason-code %#x, MQTT version %d: CONNACK code %#x, want %#x", c.code, c.v, got, c.want)
		}
	}
}
