package device

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
)

// BundleVersion is the credential bundle format written by `mvnet device
// create` (docs/cloud.md).
const BundleVersion = 1

// Bundle is a device's credentials for joining a running cloud: who the
// device is, the client certificate the cloud's device CA issued to it and
// its key, where the cloud's device listener is and the CA that signs the
// cloud's server certificate. It is stored as JSON; the key is a secret,
// so bundle files are written with mode 0600.
type Bundle struct {
	Version int `json:"version"`
	// DeviceSid is the device's ID ("UV" + 32 hex digits), which is also
	// its SID in the cloud's API.
	DeviceSid  string `json:"device_sid"`
	UniqueName string `json:"unique_name,omitempty"`
	// CloudAddress is the cloud's device listener, host:port.
	CloudAddress string `json:"cloud_address"`
	// ServerName is the name the cloud's certificate is checked against;
	// default CloudAddress's host.
	ServerName string `json:"server_name,omitempty"`
	// CloudCA is the device CA's certificate (PEM): it signs the cloud's
	// server certificate.
	CloudCA string `json:"cloud_ca"`
	// Certificate and PrivateKey are the device's client certificate and
	// its PKCS#8 key (PEM).
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"private_key"`
}

// LoadBundle reads and checks a bundle file.
func LoadBundle(path string) (*Bundle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("device: bundle: %w", err)
	}
	var bu Bundle
	if err := json.Unmarshal(b, &bu); err != nil {
		return nil, fmt.Errorf("device: bundle %s: %w", path, err)
	}
	if err := bu.Check(); err != nil {
		return nil, fmt.Errorf("device: bundle %s: %w", path, err)
	}
	return &bu, nil
}

// Encode writes the bundle as indented JSON to w.
func (b *Bundle) Encode(w io.Writer) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Write writes the bundle as indented JSON to path with mode 0600.
func (b *Bundle) Write(path string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("device: bundle: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // an existing file keeps its mode otherwise
		f.Close()
		return fmt.Errorf("device: bundle: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("device: bundle: %w", err)
	}
	return f.Close()
}

// Check reports what is wrong with the bundle, or nil.
func (b *Bundle) Check() error {
	if b.Version != BundleVersion {
		return fmt.Errorf("version %d not supported (want %d)", b.Version, BundleVersion)
	}
	if err := kernel.ValidateDeviceID(b.DeviceSid); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(b.CloudAddress); err != nil {
		return fmt.Errorf("cloud_address %q: %w", b.CloudAddress, err)
	}
	_, err := b.TLSConfig()
	return err
}

// TLSConfig is the device's side of the link's TLS (link.ClientTLSConfig):
// the bundle's certificate, trusting only the bundle's CA.
func (b *Bundle) TLSConfig() (*tls.Config, error) {
	cert, err := tls.X509KeyPair([]byte(b.Certificate), []byte(b.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("certificate/private_key: %w", err)
	}
	id, err := link.DeviceIDFromCert(cert.Leaf)
	if err != nil {
		return nil, err
	}
	if id != b.DeviceSid {
		return nil, fmt.Errorf("the certificate is device %s's, not %s's", id, b.DeviceSid)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(b.CloudCA)) {
		return nil, errors.New("cloud_ca: no PEM certificate")
	}
	name := b.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(b.CloudAddress)
		if err != nil {
			return nil, fmt.Errorf("cloud_address %q: %w", b.CloudAddress, err)
		}
		name = host
	}
	return link.ClientTLSConfig(cert, roots, name), nil
}

// Dial returns a function that opens the device's link to the bundle's
// cloud: TCP to CloudAddress, then the TLS 1.3 handshake. Use it as
// Options.Dial (or kernel.Options.Dial), with DeviceID = DeviceSid.
func (b *Bundle) Dial() (func(ctx context.Context) (net.Conn, error), error) {
	cfg, err := b.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("device: bundle: %w", err)
	}
	addr := b.CloudAddress
	return func(ctx context.Context) (net.Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, Config: cfg}
		return d.DialContext(ctx, "tcp", addr)
	}, nil
}
