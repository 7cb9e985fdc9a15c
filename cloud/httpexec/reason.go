package httpexec

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/mvnet/mvnet/link"
)

// Reason turns an error of Perform (or of any outbound connection the cloud
// makes for a device, such as an MQTT broker session) into the short human
// diagnostic the cloud sends the device with CONTROL DIAG (link/doc.go):
// one of
//
//	outbound policy refused …     the target is loopback/private/… (ErrRefused)
//	DNS lookup of HOST failed: …  the name does not resolve
//	connection refused by TARGET  nothing listens there
//	TLS certificate verification failed: …
//	timed out waiting for a connection to TARGET
//	                              the request's timeout came while it was
//	                              queued for a connection (MaxConnsPerHost,
//	                              MaxConns, MaxDials) or one was being
//	                              established
//	timed out: …                  the request's timeout or a network timeout
//	connection to TARGET failed: …  another network error (reset, unreachable)
//	…                             anything else, as the error says
//
// TARGET is the host:port the device asked for, never the address it
// resolved to: the reason goes to the device, which must not learn the
// cloud's Resolve overrides or internal addresses (the cloud's own log
// keeps the full error). It is at most link.MaxDiagLen bytes; "" for a nil
// error.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	target := ""
	// "Get \"https://…\": " says nothing the device does not know.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
		if u, perr := url.Parse(ue.URL); perr == nil {
			target = u.Host
		}
	}
	var te *targetError
	if errors.As(err, &te) {
		target = te.target
	}
	var (
		dnsErr     *net.DNSError
		opErr      *net.OpError
		refused    *refusedError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		netErr     net.Error
		waitErr    *waitError
	)
	var r string
	switch {
	case errors.As(err, &waitErr):
		r = "gave up waiting for a connection to " + waitErr.target
		if errors.Is(err, context.DeadlineExceeded) {
			r = "timed out waiting for a connection to " + waitErr.target
		}
	case errors.As(err, &refused):
		why := refused.addr.String() + " is " + refused.why
		if host, _, serr := net.SplitHostPort(target); serr == nil {
			if a, perr := netip.ParseAddr(host); perr != nil || a.Unmap() != refused.addr {
				// A name (or an override): not the address it maps to.
				why = target + " resolves to an address that is " + refused.why
			}
		}
		r = "outbound policy refused the target: " + why + " and not in AllowPrefixes"
	case errors.Is(err, ErrRefused):
		// "dial ADDR: target address refused by outbound policy: WHY"
		// with ADDR as the device asked.
		why := err.Error()
		if i := strings.Index(why, ErrRefused.Error()); i >= 0 {
			why = strings.TrimPrefix(why[i+len(ErrRefused.Error()):], ": ")
		}
		r = "outbound policy refused the target: " + why
	case errors.As(err, &dnsErr):
		r = "DNS lookup of " + dnsErr.Name + " failed: " + dnsErr.Err
		if dnsErr.IsNotFound {
			r = "DNS lookup of " + dnsErr.Name + " failed: no such host"
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		r = "connection refused"
		if target != "" {
			r += " by " + target
		}
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		inner := err
		if verifyErr != nil {
			inner = verifyErr.Err
		}
		r = "TLS certificate verification failed: " + inner.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		r = "timed out waiting for the server"
	case errors.As(err, &opErr):
		// "read tcp 10.0.0.2:51234->10.1.2.3:443: connection reset by
		// peer" names both the cloud's and the resolved address: keep the
		// cause only.
		cause := opErr.Err
		var se *os.SyscallError
		if errors.As(cause, &se) {
			cause = se.Err
		}
		r = cause.Error()
		if target != "" {
			r = "connection to " + target + " failed: " + r
		}
	default:
		r = err.Error()
	}
	return link.TruncateDiag(r)
}
