package cassette_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// TestReplayedErrorsTyped: a recorded transport error replays as the typed
// error a live one is, so the device reads the same reason as in the
// recording (httpexec.Reason) and never the recording machine's addresses;
// a recorded broker connect error likewise.
func TestReplayedErrorsTyped(t *testing.T) {
	const u = "https://api.test/data"
	for kind, want := range map[string]string{
		"refused": "connection refused by api.test",
		"dns":     "DNS lookup of api.test failed: no such host",
		"reset":   "connection to api.test failed: connection reset by peer",
		"timeout": "timed out waiting for the server",
		"tls":     "TLS certificate verification failed: x509: certificate signed by unknown authority",
	} {
		msg := "dial tcp 127.0.0.1:43177: connect: something (" + kind + ")"
		if kind == "tls" {
			msg = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
		}
		c := &cassette.Cassette{HTTP: []cassette.HTTPExchange{{Request: cassette.HTTPRequest{Method: "GET", URL: u},
			Error: &cassette.ErrorRecord{Kind: kind, Message: msg}}}}
		rep := cassette.NewReplayer(c, cassette.Options{})
		_, err := replayDo(t, rep.WrapTransport(nil), "GET", u, "", nil)
		if err == nil {
			t.Fatalf("%s: no error", kind)
		}
		// The cloud's client wraps transport errors so.
		got := httpexec.Reason(&url.Error{Op: "Get", URL: u, Err: err})
		if got != want || strings.Contains(got, "127.0.0.1") {
			t.Errorf("%s: the device reads %q, want %q", kind, got, want)
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: the error %q lost the recorded message (for the log)", kind, err)
		}
	}

	c := &cassette.Cassette{MQTT: []cassette.MQTTSession{{Addr: "broker.test:1883", Packets: []cassette.MQTTPacket{},
		Error: &cassette.ErrorRecord{Kind: "refused", Message: "dial tcp 127.0.0.1:1883: connect: connection refused"}}}}
	rep := cassette.NewReplayer(c, cassette.Options{})
	_, err := rep.WrapConnect(nil)(devctx.With(context.Background(), "UV1"), "broker.test:1883", nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("replayed refused connect: %v, want ECONNREFUSED", err)
	}
}

// watchCtx tells when someone waits on its Done channel.
type watchCtx struct {
	context.Context
	once   sync.Once
	waited chan struct{}
}

func (c *watchCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waited) })
	return c.Context.Done()
}

// TestCanceledRecordedAndReplayed: a request the cloud cancelled (the
// link dropped mid-request) is recorded as "canceled", not as the
// upstream's timeout, and replay answers it only once the cloud cancels
// it again, with the context's error.
func TestCanceledRecordedAndReplayed(t *testing.T) {
	rec := cassette.NewRecorder(cassette.Options{})
	rt := rec.WrapTransport(baseFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}))
	ctx, cancel := context.WithCancel(devctx.With(context.Background(), "UV1"))
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://api.test/slow", nil)
	errc := make(chan error, 1)
	go func() { _, err := rt.RoundTrip(req); errc <- err }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("recording: %v", err)
	}
	c := rec.Cassette()
	if len(c.HTTP) != 1 || c.HTTP[0].Error == nil || c.HTTP[0].Error.Kind != "canceled" {
		t.Fatalf("recorded %+v, want one exchange with a canceled error", c.HTTP)
	}

	rep := cassette.NewReplayer(c, cassette.Options{})
	base, cancel := context.WithCancel(devctx.With(context.Background(), "UV1"))
	defer cancel()
	wc := &watchCtx{Context: base, waited: make(chan struct{})}
	req, _ = http.NewRequestWithContext(wc, "GET", "https://api.test/slow", nil)
	go func() {
		resp, err := rep.WrapTransport(nil).RoundTrip(req)
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		t.Fatalf("replay answered %v without waiting for the cloud to cancel", err)
	case <-wc.waited:
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("replay: %v, want context.Canceled", err)
	}
	if ms := rep.Mismatches(); len(ms) != 0 {
		t.Errorf("mismatches %v", ms)
	}
}
