// Package devca is the cloud's device certificate authority: the root of
// trust of the link (DESIGN.md: mutual TLS with a device certificate issued
// by the cloud). It is created once in the cloud's data directory and
// loaded on every later start, and it issues
//
//   - device client certificates: subject CN = the device ID and one URI
//     SAN link.DeviceURIPrefix + device ID ("urn:mvnet:device:UV…"),
//     extended key usage client authentication;
//   - the cloud's TLS server certificate for its device listener, issued
//     afresh at each start for the listener's host names and addresses.
//
// Files (under the directory given to Open, normally DATA_DIR/devca):
//
//	ca.crt  the CA certificate (PEM), also handed to devices in bundles
//	ca.key  its private key (PKCS#8 PEM, mode 0600)
//
// Keys are ECDSA P-256.
package devca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/link"
)

// File names under the CA's directory.
const (
	CertFile = "ca.crt"
	KeyFile  = "ca.key"
)

// Validity periods.
const (
	// CAValidity is the CA certificate's lifetime.
	CAValidity = 20 * 365 * 24 * time.Hour
	// DeviceValidity is a device certificate's default lifetime.
	DeviceValidity = 10 * 365 * 24 * time.Hour
	// ServerValidity is the cloud's server certificate's lifetime (it is
	// issued again at every start).
	ServerValidity = 365 * 24 * time.Hour
	// backdate covers clock skew between cloud and devices.
	backdate = time.Hour
)

// CA is the device CA, loaded from or created in its directory.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// Open loads the CA from dir, creating dir (mode 0700) and a new CA in it
// if dir holds neither file. A directory holding only one of the two files
// is an error (nothing is overwritten).
func Open(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		return load(certPath, keyPath)
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return create(dir)
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("devca: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("devca: %w", keyErr)
	}
	return nil, fmt.Errorf("devca: %s holds only one of %s and %s; restore the other or remove both to create a new CA (every device then needs a new bundle)", dir, CertFile, KeyFile)
}

func create(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "mvnet device CA", Organization: []string{"mvnet"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	// The key first, then the certificate: Open treats a lone key as an
	// error, so an interrupted creation is noticed, not silently replaced.
	if err := writeFileAtomic(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	return &CA{cert: cert, certPEM: certPEM, key: key}, nil
}

func load(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("devca: %s: no PEM CERTIFICATE", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devca: %s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("devca: %s: no PEM key", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devca: %s: %w", keyPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("devca: %s does not hold the key of %s", keyPath, certPath)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("devca: %s is not a CA certificate", certPath)
	}
	return &CA{cert: cert, certPEM: pem.EncodeToMemory(cb), key: key}, nil
}

// Cert is the CA certificate.
func (ca *CA) Cert() *x509.Certificate { return ca.cert }

// CertPEM is the CA certificate in PEM form.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// IssueDevice issues a client certificate for deviceID with a new P-256
// key, valid for validity (0: DeviceValidity). It returns the certificate
// and the key in PEM form.
func (ca *CA) IssueDevice(deviceID string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if err := devid.Check(deviceID); err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	if validity <= 0 {
		validity = DeviceValidity
	}
	u, err := url.Parse(link.DeviceURIPrefix + deviceID)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: deviceID, Organization: []string{"mvnet device"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{u},
	}
	return ca.issue(tmpl)
}

// ServerCertificate issues the cloud's TLS server certificate for the given
// host names and IP addresses, with a new P-256 key, valid for
// ServerValidity. The chain holds the leaf only (devices trust the CA).
func (ca *CA) ServerCertificate(hosts ...string) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("devca: a server certificate needs a host name or address")
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"mvnet cloud"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certPEM, keyPEM, err := ca.issue(tmpl)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func (ca *CA) issue(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: issuing %q: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// Verify checks that a device certificate (PEM) was issued by this CA for
// client authentication and is valid now, and returns the device ID it
// names.
func (ca *CA) Verify(certPEM []byte) (string, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return "", errors.New("devca: no PEM CERTIFICATE")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return "", fmt.Errorf("devca: %w", err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return "", fmt.Errorf("devca: %w", err)
	}
	id, err := link.DeviceIDFromCert(c)
	if err != nil {
		return "", err
	}
	if err := devid.Check(id); err != nil {
		return "", fmt.Errorf("devca: %w", err)
	}
	return id, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}
