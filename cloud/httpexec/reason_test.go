package httpexec_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/link"
)

func TestReasonBounds(t *testing.T) {
	if r := httpexec.Reason(nil); r != "" {
		t.Errorf("Reason(nil) = %q", r)
	}
	long := errors.New(strings.Repeat("x", 3*link.MaxDiagLen))
	if r := httpexec.Reason(long); len(r) > link.MaxDiagLen || !strings.HasSuffix(r, "…") {
		t.Errorf("Reason of a long error: %d bytes %q", len(r), r)
	}
}

// TestReasonNamesTheRequestedTarget: the reason sent to the device names
// the host:port it asked for, never the address a Resolve override (or
// DNS) mapped it to, nor the cloud's own address: refused, reset and
// policy-refused connections alike.
func TestReasonNamesTheRequestedTarget(t *testing.T) {
	_, closedPort, _ := net.SplitHostPort(testenv.ClosedAddr(t))

	resets, _ := testenv.ResettingListener(t)
	_, resetPort, _ := net.SplitHostPort(resets)

	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		name string
		opts httpexec.Options
		url  string
		want string
	}{
		{"connection refused", httpexec.Options{AllowPrefixes: loopback, Resolve: []string{"refused.example:443:127.0.0.1:" + closedPort}},
			"https://refused.example/", "connection refused by refused.example:443"},
		{"connection reset", httpexec.Options{AllowPrefixes: loopback, Resolve: []string{"reset.example:443:127.0.0.1:" + resetPort}},
			"https://reset.example/", "connection reset by peer"},
		{"policy refusal", httpexec.Options{Resolve: []string{"internal.example:443:127.0.0.1:" + closedPort}},
			"https://internal.example/", "outbound policy refused the target: internal.example:443 resolves to an address that is loopback"},
		{"policy refusal of an address", httpexec.Options{},
			"https://127.0.0.1:" + closedPort + "/", "outbound policy refused the target: 127.0.0.1 is loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := httpexec.New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(e.Close)
			_, err = e.Perform(context.Background(), &link.HTTPRequest{Method: "GET", URL: tt.url, TimeoutMS: 10000}, 4096)
			r := httpexec.Reason(err)
			if !strings.Contains(r, tt.want) {
				t.Errorf("reason %q (error %v), want it to say %q", r, err, tt.want)
			}
			if strings.Contains(tt.url, "example") && (strings.Contains(r, "127.0.0.1") || strings.Contains(r, closedPort) || strings.Contains(r, resetPort)) {
				t.Errorf("reason %q names the address the target resolved to", r)
			}
		})
	}
}
