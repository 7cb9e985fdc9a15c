package httpexec

import (
	"net/netip"
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
