package httpexec

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
)

// TestAllowListLiftsEmbeddedIPv4: IPv4-compatible ::/96 and NAT64
// addresses refused by default pass the policy once their prefix is
// allow-listed. The check is the one DialContext makes before it dials;
// it is called directly so that the test sends nothing to these
// non-loopback addresses.
func TestAllowListLiftsEmbeddedIPv4(t *testing.T) {
	addrs := []string{"::127.0.0.1", "::a00:1", "::8.8.8.8", "64:ff9b::7f00:1",
		"64:ff9b::10.0.0.1", "64:ff9b::8.8.8.8", "64:ff9b:1::a00:1"}
	strict := &dialer{}
	allowed := &dialer{allow: []netip.Prefix{netip.MustParsePrefix("::/96"),
		netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48")}}
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		if err := strict.allowed(a); err == nil {
			t.Errorf("%s passes the default policy", a)
		}
		if err := allowed.allowed(a); err != nil {
			t.Errorf("%s allow-listed: %v", a, err)
		}
	}
}

// TestInvalidNamesNotQueried: RFC 6761 §6.4 — a name that is "invalid" or
// under it fails as not found at once, without a DNS query (the resolver's
// Dial fails the test), through an override-free dialer as every
// outbound connection of the cloud uses (HTTP and MQTT brokers).
func TestInvalidNamesNotQueried(t *testing.T) {
	d := &dialer{resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		t.Errorf("a DNS query was sent to %s", address)
		return nil, errors.New("no DNS in this test")
	}}}
	for _, host := range []string{"nowhere.mvnet.invalid", "invalid", "X.INVALID", "a.invalid."} {
		_, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort(host, "443"))
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("%s: %v, want a not-found *net.DNSError", host, err)
		}
	}
	// Names that merely contain "invalid" are looked up as usual.
	var queried atomic.Bool // the A and AAAA queries run concurrently
	d.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		queried.Store(true)
		return nil, errors.New("no DNS in this test")
	}}
	_, _ = d.DialContext(context.Background(), "tcp", "invalid.example:443")
	if !queried.Load() {
		t.Error("invalid.example was not looked up")
	}
}
