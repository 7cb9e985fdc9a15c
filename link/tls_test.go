package link_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/mvnet/mvnet/link"
)

const id = "UV0123456789abcdef0123456789abcdef"

func cert(t *testing.T, cn string, uris ...string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeviceIDFromCert(t *testing.T) {
	const other = "UVffffffffffffffffffffffffffffffff"
	got, err := link.DeviceIDFromCert(cert(t, id, link.DeviceURIPrefix+id, "https://example.com/"))
	if err != nil || got != id {
		t.Fatalf("DeviceIDFromCert = %q, %v", got, err)
	}
	for name, c := range map[string]*x509.Certificate{
		"no URI":        cert(t, id),
		"CN mismatch":   cert(t, other, link.DeviceURIPrefix+id),
		"two devices":   cert(t, id, link.DeviceURIPrefix+id, link.DeviceURIPrefix+other),
		"other URN":     cert(t, id, "urn:example:"+id),
		"empty subject": cert(t, "", link.DeviceURIPrefix+id),
	} {
		if got, err := link.DeviceIDFromCert(c); err == nil {
			t.Errorf("%s: DeviceIDFromCert = %q, want an error", name, got)
		}
	}
}

func TestPeerDeviceIDNeedsVerifiedChain(t *testing.T) {
	if _, err := link.PeerDeviceID(tls.ConnectionState{}); err == nil {
		t.Fatal("PeerDeviceID without a verified chain succeeded")
	}
	c := cert(t, id, link.DeviceURIPrefix+id)
	got, err := link.PeerDeviceID(tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}})
	if err != nil || got != id {
		t.Fatalf("PeerDeviceID = %q, %v", got, err)
	}
}

func TestTLSConfigsAreTLS13Only(t *testing.T) {
	s := link.ServerTLSConfig(tls.Certificate{}, x509.NewCertPool())
	c := link.ClientTLSConfig(tls.Certificate{}, x509.NewCertPool(), "cloud.example")
	for name, cfg := range map[string]*tls.Config{"server": s, "client": c} {
		if cfg.MinVersion != tls.VersionTLS13 || cfg.MaxVersion != tls.VersionTLS13 {
			t.Errorf("%s: versions %x–%x, want TLS 1.3 only", name, cfg.MinVersion, cfg.MaxVersion)
		}
	}
	if s.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("server ClientAuth %v", s.ClientAuth)
	}
	if c.ServerName != "cloud.example" || c.InsecureSkipVerify {
		t.Errorf("client ServerName %q InsecureSkipVerify %v", c.ServerName, c.InsecureSkipVerify)
	}
}
