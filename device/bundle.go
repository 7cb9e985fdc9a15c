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
	"slices"
	"sync"
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
	// CloudAddress is the cloud's device listener, host:port: with
	// CloudAddresses, the first of them (what readers that know only one
	// address use).
	CloudAddress string `json:"cloud_address"`
	// CloudAddresses, if set, are the device listeners of every node of a
	// cluster (host:port each): the device connects to any and moves on
	// when one fails (Dial). Optional; the bundle version stays 1.
	CloudAddresses []string `json:"cloud_addresses,omitempty"`
	// ServerName is the name the cloud's certificate is checked against;
	// default the host of the address dialled.
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
	for _, a := range b.CloudAddresses {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("cloud_addresses entry %q: %w", a, err)
		}
	}
	_, err := b.TLSConfig()
	return err
}

// Addresses are the cloud's device listeners the device may dial:
// CloudAddresses if set, else CloudAddress.
func (b *Bundle) Addresses() []string {
	if len(b.CloudAddresses) > 0 {
		return b.CloudAddresses
	}
	return []string{b.CloudAddress}
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

// DialAttemptTimeout bounds one address's attempt (TCP and TLS) in the
// function Dial returns.
const DialAttemptTimeout = 10 * time.Second

// Dial returns a function that opens the device's link to the bundle's
// cloud: TCP to one of Addresses, then the TLS 1.3 handshake. It starts
// with the address whose link last carried the cloud's WELCOME (the first
// at first), or with the one after the address that failed last, and
// moves on to the next when one fails. Each attempt is bounded by
// DialAttemptTimeout and by an even share of what is left of ctx's
// deadline among the addresses not yet tried, so a node that accepts TCP
// and then stays silent cannot use up the whole call. An address counts
// as working only once its link delivers a WELCOME: a node that completes
// TLS and then refuses the HELLO (CONTROL ERROR) or closes is passed over
// by the next call. The call fails when every address has failed once
// (the caller's redial backoff then applies). Use it as Options.Dial (or
// kernel.Options.Dial), with DeviceID = DeviceSid.
func (b *Bundle) Dial() (func(ctx context.Context) (net.Conn, error), error) {
	cfg, err := b.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("device: bundle: %w", err)
	}
	addrs := slices.Clone(b.Addresses())
	cfgs := make([]*tls.Config, len(addrs))
	for i, a := range addrs {
		cfgs[i] = cfg
		if b.ServerName == "" {
			host, _, _ := net.SplitHostPort(a) // checked by TLSConfig's caller (Check)
			cfgs[i] = cfg.Clone()
			cfgs[i].ServerName = host
		}
	}
	var mu sync.Mutex
	next := 0 // the address the next call starts with
	setNext := func(i int) {
		mu.Lock()
		next = i
		mu.Unlock()
	}
	return func(ctx context.Context) (net.Conn, error) {
		mu.Lock()
		start := next
		mu.Unlock()
		var errs []error
		for k := range addrs {
			i := (start + k) % len(addrs)
			actx, cancel := context.WithTimeout(ctx, attemptTimeout(ctx, len(addrs)-k))
			d := tls.Dialer{NetDialer: &net.Dialer{KeepAlive: 30 * time.Second}, Config: cfgs[i]}
			c, err := d.DialContext(actx, "tcp", addrs[i])
			cancel()
			if err == nil {
				// Until the WELCOME arrives this address is not known to
				// work: the next call starts after it.
				setNext((i + 1) % len(addrs))
				return &welcomeConn{Conn: c, welcomed: func() { setNext(i) }}, nil
			}
			setNext((i + 1) % len(addrs))
			if len(addrs) == 1 {
				return nil, err // as a one-address bundle always said
			}
			errs = append(errs, fmt.Errorf("%s: %w", addrs[i], err))
			if ctx.Err() != nil {
				break
			}
		}
		return nil, fmt.Errorf("no cloud address answered: %w", errors.Join(errs...))
	}, nil
}

// attemptTimeout is one address's share of the dial: DialAttemptTimeout,
// or less when ctx's deadline leaves less than that for each of the left
// addresses still to try.
func attemptTimeout(ctx context.Context, left int) time.Duration {
	d := DialAttemptTimeout
	if dl, ok := ctx.Deadline(); ok {
		if share := time.Until(dl) / time.Duration(left); share < d {
			d = share
		}
	}
	return d
}

// welcomeConn is a link's connection that calls welcomed once, when the
// type byte of the first frame it reads says WELCOME (link framing:
// length u32 | type u8 | body, spec in link/doc.go).
type welcomeConn struct {
	net.Conn
	welcomed func()
	seen     int // bytes of the first frame's length and type read so far
	head     [5]byte
}

// Read reads from the connection, watching the first frame's type. The
// kernel reads the link from one goroutine (link.Conn's reader), so seen
// needs no lock.
func (c *welcomeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.seen < len(c.head) {
		m := copy(c.head[c.seen:], p[:n])
		c.seen += m
		if c.seen == len(c.head) && link.FrameType(c.head[4]) == link.FrameWelcome {
			c.welcomed()
		}
	}
	return n, err
}
