package httpexec

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
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
//	connection refused by ADDR    nothing listens there
//	TLS certificate verification failed: …
//	timed out: …                  the request's timeout or a network timeout
//	…                             anything else, as the error says
//
// It is at most link.MaxDiagLen bytes; "" for a nil error.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	// "Get \"https://…\": " says nothing the device does not know.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		dnsErr     *net.DNSError
		opErr      *net.OpError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		netErr     net.Error
	)
	var r string
	switch {
	case errors.Is(err, ErrRefused):
		// "dial ADDR: target address refused by outbound policy: WHY",
		// where WHY names the address and the rule.
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
		if errors.As(err, &opErr) && opErr.Addr != nil {
			r += " by " + opErr.Addr.String()
		}
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		inner := err
		if verifyErr != nil {
			inner = verifyErr.Err
		}
		r = "TLS certificate verification failed: " + inner.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		r = "timed out waiting for the server"
	default:
		r = err.Error()
	}
	return link.TruncateDiag(r)
}
