package link

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// The link's TLS (DESIGN.md: one TLS 1.3 connection per device, mutual
// TLS with a device certificate issued by the cloud). The cloud's device CA
// (package cloud/devca) issues every certificate on the link: the cloud's
// server certificate and each device's client certificate. A device
// certificate names its device twice, as the subject's common name and as
// a URI SAN DeviceURIPrefix + device ID; the cloud takes the URI SAN (the
// CN must agree), and a link whose certificate names device A may only say
// HELLO as device A.

// DeviceURIPrefix starts the URI SAN that names a device in its
// certificate: "urn:mvnet:device:UV…".
const DeviceURIPrefix = "urn:mvnet:device:"

// ServerTLSConfig is the cloud's side of the link: TLS 1.3 only, serving
// cert, requiring a client certificate that chains to clientCAs (the device
// CA) and is valid for client authentication.
func ServerTLSConfig(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		// No ALPN/session tickets needed; keep the defaults otherwise.
	}
}

// ClientTLSConfig is a device's side of the link: TLS 1.3 only, presenting
// cert, trusting only the cloud's CA roots for the server certificate,
// which must be valid for serverName (a host name or IP address of the
// cloud's device listener).
func ClientTLSConfig(cert tls.Certificate, roots *x509.CertPool, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		ServerName:   serverName,
	}
}

// DeviceIDFromCert returns the device ID a device certificate names: its
// one URI SAN DeviceURIPrefix + ID, which must equal the subject's common
// name. It does not verify the certificate's chain (the TLS handshake
// does) nor the ID's syntax.
func DeviceIDFromCert(c *x509.Certificate) (string, error) {
	var id string
	for _, u := range c.URIs {
		s := u.String()
		if !strings.HasPrefix(s, DeviceURIPrefix) {
			continue
		}
		if id != "" {
			return "", errors.New("link: certificate names more than one device")
		}
		id = strings.TrimPrefix(s, DeviceURIPrefix)
	}
	if id == "" {
		return "", fmt.Errorf("link: certificate %q has no %s… URI SAN", c.Subject.CommonName, DeviceURIPrefix)
	}
	if c.Subject.CommonName != id {
		return "", fmt.Errorf("link: certificate common name %q does not match its device URI %q", c.Subject.CommonName, id)
	}
	return id, nil
}

// PeerDeviceID returns the device ID named by the verified client
// certificate of a server-side TLS connection state, or an error if the
// peer presented no verified certificate or it names no device.
func PeerDeviceID(cs tls.ConnectionState) (string, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", errors.New("link: no verified client certificate")
	}
	return DeviceIDFromCert(cs.VerifiedChains[0][0])
}
