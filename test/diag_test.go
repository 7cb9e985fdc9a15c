package test

import (
	"crypto/x509"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
)

// The cloud's diagnostic reasons (link/doc.go, "Diagnostics"), end to end:
// the application sees only MV_HTTPRESULT_REQUESTFAILED (or an MQTT
// request state); the device side — the Go device API here, transcripts
// and traces elsewhere — gets the reason.

func TestHTTPFailureReasons(t *testing.T) {
	t.Parallel()
	b := newBlocker()
	t.Cleanup(func() { close(b.release) })
	trusted := testenv.NewServer(t, testMux(b))
	untrusted := quietServer(t)
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	refused := testenv.ClosedAddr(t)
	tests := []struct {
		name    string
		opts    httpexec.Options
		url     string
		timeout uint32
		want    []string // substrings of the reason
	}{
		{"policy refusal", httpexec.Options{RootCAs: []*x509.Certificate{trusted.CA.Cert}},
			"https://127.0.0.1:" + strconv.Itoa(trusted.Port) + "/hello", 5000,
			[]string{"outbound policy refused", "127.0.0.1 is loopback"}},
		{"DNS failure", httpexec.Options{},
			"https://nowhere.mvnet.invalid/", 5000,
			[]string{"DNS lookup of nowhere.mvnet.invalid failed"}},
		{"connection refused", httpexec.Options{AllowPrefixes: loopback},
			"https://" + refused + "/", 5000,
			[]string{"connection refused by " + refused}},
		{"TLS verify failure", httpexec.Options{AllowPrefixes: loopback, Resolve: []string{untrusted.Resolve}},
			untrusted.URL("/hello"), 5000,
			[]string{"TLS certificate verification failed", "unknown authority"}},
		{"timeout", httpexec.Options{AllowPrefixes: loopback, Resolve: []string{trusted.Resolve}, RootCAs: []*x509.Certificate{trusted.CA.Cert}},
			trusted.URL("/block"), 5000,
			[]string{"timed out waiting for the server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testenv.NewCloud(t, cloud.Options{HTTP: tt.opts})
			var (
				mu     sync.Mutex
				traced []device.TraceEvent
			)
			d := testenv.NewDevice(t, c, device.Options{Trace: func(e device.TraceEvent) {
				if e.Kind == "diagnostic" {
					mu.Lock()
					traced = append(traced, e)
					mu.Unlock()
				}
			}})
			ctx := testenv.Context(t, 45*time.Second)
			n, err := d.Connect(ctx, irq)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := d.HTTP(ctx, n, device.HTTPRequest{Method: "GET", URL: tt.url, TimeoutMS: tt.timeout}, 4096, 1024)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Result != abi.HTTPResultRequestFailed {
				t.Fatalf("result %s, want REQUESTFAILED", resp.Result)
			}
			for _, w := range tt.want {
				if !strings.Contains(resp.Diagnostic, w) {
					t.Errorf("the device's diagnostic %q does not say %q", resp.Diagnostic, w)
				}
			}
			t.Logf("diagnostic: %s", resp.Diagnostic)
			// The trace hook is called by the kernel's link reader before
			// the response is readable: it has it by now.
			mu.Lock()
			defer mu.Unlock()
			if len(traced) != 1 || traced[0].Text != resp.Diagnostic {
				t.Errorf("traced diagnostics %+v, want the one reason %q", traced, resp.Diagnostic)
			}
		})
	}
}

// TestMQTTConnectFailureReason: a broker port nothing listens on.
func TestMQTTConnectFailureReason(t *testing.T) {
	t.Parallel()
	addr := testenv.ClosedAddr(t)
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	e := &env{cloud: testenv.NewCloud(t, cloud.Options{HTTP: httpexec.Options{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})}
	v := e.newDev(t)
	m := v.openMQTT(2048, 2048)
	r := m.connect(device.MQTTConnect{Version: abi.MQTTProtocolVersionV5, Host: "127.0.0.1", Port: uint16(port), ClientID: "diag", Keepalive: 60, CleanStart: true})
	if r.RequestState == abi.MQTTRequestStateRequestCompleted && r.ReasonCode == 0 {
		t.Fatalf("connect to a closed port succeeded: %+v", r)
	}
	want := "connection refused by " + addr
	if got := v.d.ChannelDiagnostic(m.ch); !strings.Contains(got, want) {
		t.Fatalf("diagnostic %q, want it to say %q (request state %v)", got, want, r.RequestState)
	}
}
