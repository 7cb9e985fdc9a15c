package cassette

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/mvnet/mvnet/cloud/mqttbridge"
)

// replayedError is a recorded failure played back. It wraps the typed
// error a live failure of its kind is, so the cloud tells the device the
// same reason as in the recording (httpexec.Reason reads the type, never
// the recorded text, which names addresses of the recording's machine);
// its own text, for the cloud's log, keeps the recorded message.
type replayedError struct {
	rec ErrorRecord
	err error
}

func (e *replayedError) Error() string {
	return "cassette: recorded " + e.rec.Kind + " error: " + e.rec.Message
}

func (e *replayedError) Unwrap() error { return e.err }

// replayError rebuilds the error rec recorded for a request to host (a
// host name or host:port).
func replayError(rec *ErrorRecord, host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var err error
	switch rec.Kind {
	case "timeout":
		err = context.DeadlineExceeded
	case "canceled":
		err = context.Canceled
	case "dns":
		err = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	case "refused":
		err = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	case "reset":
		err = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	case "tls":
		// The verification failure as crypto/x509 worded it, without
		// what precedes it (addresses, "tls: failed to verify …").
		why := "certificate verification failed"
		if i := strings.Index(rec.Message, "x509: "); i >= 0 {
			why = rec.Message[i:]
		}
		err = &tls.CertificateVerificationError{Err: errors.New(why)}
	default:
		return errors.New(rec.Message) // as the live error read
	}
	return &replayedError{rec: *rec, err: err}
}

// replayConnectError is replayError for a broker connect: a TLS failure
// is the bridge's HandshakeError, as DialConnector returns.
func replayConnectError(rec *ErrorRecord, addr string) error {
	err := replayError(rec, addr)
	if rec.Kind == "tls" {
		return &mqttbridge.HandshakeError{Err: err}
	}
	return err
}
