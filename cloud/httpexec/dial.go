package httpexec

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrRefused is wrapped by dial errors for targets the outbound policy
// refuses.
var ErrRefused = errors.New("target address refused by outbound policy")

// resolveKey is the host and port a Resolve entry overrides.
type resolveKey struct {
	host string // lower case
	port uint16
}

// target is where a Resolve entry sends connections. port 0 means "the
// port of the request".
type target struct {
	addr netip.Addr
	port uint16
}

// ResolveError is a Resolve entry New refuses.
type ResolveError struct {
	Entry  string
	Reason string // what is wrong with it, and what is wanted
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("httpexec: Resolve entry %q: %s", e.Entry, e.Reason)
}

// CheckResolve checks a Resolve list as New does, so that a command can
// name a bad entry before it starts anything. The error is a
// *ResolveError.
func CheckResolve(entries []string) error {
	_, err := parseResolveList(entries)
	return err
}

// parseResolveList parses Resolve entries; one host:port mapped twice is
// an error.
func parseResolveList(entries []string) (map[resolveKey]target, error) {
	m := make(map[resolveKey]target, len(entries))
	for _, entry := range entries {
		k, t, err := parseResolve(entry)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, &ResolveError{Entry: entry, Reason: fmt.Sprintf("%s:%d is already mapped by an earlier entry", k.host, k.port)}
		}
		m[k] = t
	}
	return m, nil
}

// parseResolve parses one Resolve entry, "host:port:addr" where addr is an
// IP address ("127.0.0.1", "::1", "[::1]") optionally followed by a port
// ("127.0.0.1:8443", "[::1]:8443").
func parseResolve(entry string) (resolveKey, target, error) {
	bad := func(format string, args ...any) error {
		return &ResolveError{Entry: entry, Reason: fmt.Sprintf(format, args...) +
			" (want host:port:addr or host:port:addr:port, e.g. api.example.com:443:127.0.0.1:8443)"}
	}
	host, rest, ok := strings.Cut(entry, ":")
	if !ok || host == "" {
		return resolveKey{}, target{}, bad("no host")
	}
	portStr, addrStr, ok := strings.Cut(rest, ":")
	if !ok || addrStr == "" {
		return resolveKey{}, target{}, bad("no address")
	}
	port, err := parsePort(portStr)
	if err != nil {
		return resolveKey{}, target{}, bad("port %q: %v", portStr, err)
	}
	var t target
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(addrStr, "["), "]")); err == nil && a.Zone() == "" {
		// A bare address: IPv4, IPv6 or bracketed IPv6, with no port.
		t.addr = a.Unmap()
	} else {
		ap, err := netip.ParseAddrPort(addrStr)
		if err != nil {
			return resolveKey{}, target{}, bad("address %q is not an IP address or IP:port", addrStr)
		}
		if ap.Port() == 0 {
			return resolveKey{}, target{}, bad("address %q: port 0", addrStr)
		}
		t.addr, t.port = ap.Addr().Unmap(), ap.Port()
	}
	return resolveKey{host: strings.ToLower(host), port: port}, t, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, errors.New("not a port number 1–65535")
	}
	return uint16(n), nil
}

// deniedPrefixes are refused unless allow-listed, besides what the netip
// predicates in denied catch. DESIGN.md: "the cloud refuses loopback,
// private and link-local targets unless allow-listed". IPv6 prefixes that
// embed an IPv4 address are refused whole, since the address they reach
// (127.0.0.1 as ::127.0.0.1 or, through a NAT64 gateway, as
// 64:ff9b::7f00:1) is not the one the policy would see.
var deniedPrefixes = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "reserved"},          // "this network" (RFC 791); 0.x reaches the local host on Linux
	{netip.MustParsePrefix("100.64.0.0/10"), "reserved"},      // shared address space (RFC 6598)
	{netip.MustParsePrefix("255.255.255.255/32"), "reserved"}, // limited broadcast
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6"},  // RFC 4291 2.5.5.1 (deprecated): ::127.0.0.1
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},          // RFC 6052 well-known prefix: 64:ff9b::10.0.0.1
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},        // RFC 8215 local-use translation prefix
}

// denied reports whether the policy refuses a (by default) and why.
func denied(a netip.Addr) (bool, string) {
	switch {
	case a.IsLoopback():
		return true, "loopback"
	case a.IsPrivate():
		return true, "private"
	case a.IsLinkLocalUnicast():
		return true, "link-local"
	case a.IsUnspecified():
		return true, "unspecified"
	case a.IsMulticast():
		return true, "multicast"
	}
	for _, d := range deniedPrefixes {
		if d.p.Contains(a) {
			return true, d.why
		}
	}
	return false, ""
}

// dialer implements the outbound policy and the connection bounds
// (MaxConns, MaxDials; conns.go) for the shared transport and
// Executor.DialContext.
type dialer struct {
	allow       []netip.Prefix
	resolve     map[resolveKey]target
	resolver    *net.Resolver
	net         net.Dialer
	conns       chan struct{} // a token per open connection (MaxConns); nil: no bound
	closeIdle   func()        // closes the transport's idle connections, to free conns tokens
	idleClosed  atomic.Int64  // when makeRoom last called closeIdle, Unix ns
	slots       chan struct{} // a token per dial in progress (MaxDials); nil: no bound
	dialTimeout time.Duration // bounds one dialTLS (dialTimeout)
	tls         *tls.Config   // for dialTLS: roots, ALPN; ServerName set per dial
}

// allowed reports whether the policy lets a connection go to a.
func (d *dialer) allowed(a netip.Addr) error {
	bad, why := denied(a)
	if !bad {
		return nil
	}
	for _, p := range d.allow {
		if p.Contains(a) {
			return nil
		}
	}
	return &refusedError{addr: a, why: why}
}

// refusedError is the outbound policy refusing addr: why names the rule.
type refusedError struct {
	addr netip.Addr
	why  string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s: %s is %s and not in AllowPrefixes", ErrRefused, e.addr, e.why)
}

func (e *refusedError) Unwrap() error { return ErrRefused }

// targetError is a failure to connect to target, the "host:port" the
// device asked for. Its text is the underlying error's, for the cloud's
// log; Reason names target rather than the address it resolved to, so the
// device does not learn the cloud's Resolve overrides or internal
// addresses.
type targetError struct {
	target string
	err    error
}

func (e *targetError) Error() string { return e.err.Error() }
func (e *targetError) Unwrap() error { return e.err }

// DialContext dials addr ("host:port") within a connection token
// (MaxConns, held until the connection is closed) and a dial slot
// (MaxDials), waiting for them at most until ctx is done.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dialHeld(ctx, network, addr, nil)
}

// dialPolicy dials addr ("host:port" from the request URL): Resolve
// overrides first, then DNS; every candidate address is checked against the
// policy before it is dialled, so a name cannot rebind to a refused address
// between the check and the connection.
func (d *dialer) dialPolicy(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	if err != nil {
		return nil, &targetError{target: addr, err: err}
	}
	return c, nil
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := parsePort(portStr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: port: %v", addr, err)
	}
	var cands []netip.AddrPort
	if t, ok := d.resolve[resolveKey{host: strings.ToLower(host), port: port}]; ok {
		p := t.port
		if p == 0 {
			p = port
		}
		cands = []netip.AddrPort{netip.AddrPortFrom(t.addr, p)}
	} else if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return nil, fmt.Errorf("dial %s: %w: zoned address", addr, ErrRefused)
		}
		cands = []netip.AddrPort{netip.AddrPortFrom(a.Unmap(), port)}
	} else if invalidName(host) {
		// RFC 6761 §6.4: "invalid" names never resolve; answer at once,
		// with no query leaving the machine.
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	} else {
		addrs, err := d.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			cands = append(cands, netip.AddrPortFrom(a.Unmap(), port))
		}
	}
	var firstErr error
	for _, c := range cands {
		if err := d.allowed(c.Addr()); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("dial %s: %w", addr, err)
			}
			continue
		}
		conn, err := d.net.DialContext(ctx, network, c.String())
		if err == nil {
			return conn, nil
		}
		if firstErr == nil || errors.Is(firstErr, ErrRefused) {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("dial %s: no addresses", addr)
	}
	return nil, firstErr
}

// invalidName reports whether host is "invalid" or under it (RFC 6761
// §6.4: name resolution APIs SHOULD recognise these names as invalid and
// return a negative response at once).
func invalidName(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "invalid" || strings.HasSuffix(host, ".invalid")
}
