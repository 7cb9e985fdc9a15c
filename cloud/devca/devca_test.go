package devca_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/link"
)

const devA = "UV0123456789abcdef0123456789abcdef"

func TestCreateAndReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "devca")
	ca, err := devca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, devca.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := devca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca.CertPEM(), again.CertPEM()) {
		t.Fatal("reopening the directory made a new CA")
	}
	// A certificate issued before the reload verifies after it.
	certPEM, _, err := ca.IssueDevice(devA, 0)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := again.Verify(certPEM); err != nil || id != devA {
		t.Fatalf("Verify after reload: %q, %v", id, err)
	}
}

func TestLoneFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if _, err := devca.Open(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, devca.CertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := devca.Open(dir); err == nil || !strings.Contains(err.Error(), "only one") {
		t.Fatalf("Open with the key alone: %v", err)
	}
}

func TestIssueDevice(t *testing.T) {
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueDevice(devA, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(keyPEM, []byte("PRIVATE KEY")) {
		t.Fatalf("key PEM %q", keyPEM)
	}
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != devA || len(c.URIs) != 1 || c.URIs[0].String() != link.DeviceURIPrefix+devA {
		t.Fatalf("subject %q URIs %v", c.Subject.CommonName, c.URIs)
	}
	if id, err := link.DeviceIDFromCert(c); err != nil || id != devA {
		t.Fatalf("DeviceIDFromCert: %q, %v", id, err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("a device certificate verifies for server authentication")
	}
	if _, _, err := ca.IssueDevice("not-a-device", 0); err == nil {
		t.Error("IssueDevice accepted a bad device ID")
	}
	// Another CA's certificate does not verify.
	other, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(certPEM); err == nil {
		t.Error("another CA verified the certificate")
	}
}

func TestServerCertificate(t *testing.T) {
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"127.0.0.1", "localhost"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: ca.Pool()}); err != nil {
			t.Errorf("server certificate for %s: %v", h, err)
		}
	}
	if _, err := ca.ServerCertificate(); err == nil {
		t.Error("ServerCertificate with no host succeeded")
	}
}
