package cloud_test

// The cloud serving device links over TLS 1.3 from a listener: devices
// authenticate with certificates from the device CA, and a certificate is
// one device and no other.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
)

// tlsCloud starts a cloud serving TLS links on a 127.0.0.1 listener and
// returns it, its device CA and the listener's address.
func tlsCloud(t *testing.T, hopts httpexec.Options) (*cloud.Server, *devca.CA, string) {
	t.Helper()
	return tlsCloudWith(t, cloud.Options{HTTP: hopts})
}

// tlsCloudWith is tlsCloud with more options (o.TLS is set here).
func tlsCloudWith(t testing.TB, o cloud.Options) (*cloud.Server, *devca.CA, string) {
	t.Helper()
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, ca, o)
	t.Cleanup(func() {
		_ = n.s.Shutdown(context.Background())
		if err := <-n.served; !errors.Is(err, cloud.ErrShutdown) {
			t.Errorf("Serve returned %v, want ErrShutdown", err)
		}
	})
	return n.s, ca, n.addr
}

func bundleFor(t testing.TB, ca *devca.CA, id, addr string) *device.Bundle {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueDevice(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := &device.Bundle{Version: device.BundleVersion, DeviceSid: id, CloudAddress: addr,
		CloudCA: string(ca.CertPEM()), Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTLSLinkEndToEnd(t *testing.T) {
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over TLS")
	}))
	t.Cleanup(web.Close)
	s, ca, addr := tlsCloud(t, httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RootCAs:       []*x509.Certificate{web.Certificate()},
	})
	b := bundleFor(t, ca, fakedev.ID(7), addr)
	path := t.TempDir() + "/bundle.json"
	if err := b.Write(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := device.LoadBundle(path)
	if err != nil {
		t.Fatal(err)
	}
	dial, err := loaded.Dial()
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.New(device.Options{DeviceID: loaded.DeviceSid, Dial: dial,
		ReconnectDelay: time.Millisecond, MaxReconnectDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx := ctxT(t)
	n, err := d.Connect(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.HTTP(ctx, n, device.HTTPRequest{Method: "GET", URL: web.URL, TimeoutMS: 5000}, 1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 || string(resp.Body) != "over TLS" {
		t.Fatalf("response %+v", resp)
	}
	if devs := s.Devices(); len(devs) != 1 || devs[0].DeviceID != fakedev.ID(7) {
		t.Fatalf("Devices() = %+v", devs)
	}
}

func TestTLSHelloMustMatchCertificate(t *testing.T) {
	_, ca, addr := tlsCloud(t, httpexec.Options{})
	b := bundleFor(t, ca, fakedev.ID(1), addr)
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	// Device A's certificate, HELLO as device B: CONTROL ERROR, then the
	// link ends.
	c, err := dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := fakedev.New(t, c)
	d.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(2)})
	f := d.Expect(link.FrameControl)
	if f.Kind != link.ControlError || !strings.Contains(string(f.Payload), fakedev.ID(1)) {
		t.Fatalf("got CONTROL kind %d %q, want ERROR naming the certificate's device", f.Kind, f.Payload)
	}
	// And with its own ID the same certificate is welcome.
	c, err = dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fakedev.New(t, c).Hello(fakedev.ID(1))
}

// helloFails dials addr with cfg and checks that no WELCOME comes back.
func helloFails(t *testing.T, addr string, cfg *tls.Config) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return // refused during the handshake
	}
	defer c.Close()
	lc := link.NewConn(c)
	defer lc.Close()
	if err := lc.Send(&link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(3)}); err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(fakedev.Wait))
	f, err := lc.Recv()
	if err == nil {
		t.Fatalf("got %v from the cloud, want the link refused", f.Type)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("no answer within %v: want the link refused", fakedev.Wait)
	}
}

func TestTLSRefusesWithoutDeviceCertificate(t *testing.T) {
	_, ca, addr := tlsCloud(t, httpexec.Options{})
	t.Run("no certificate", func(t *testing.T) {
		helloFails(t, addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
	})
	t.Run("another CA", func(t *testing.T) {
		other, err := devca.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := other.IssueDevice(fakedev.ID(3), 0)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		helloFails(t, addr, link.ClientTLSConfig(cert, ca.Pool(), "127.0.0.1"))
	})
	t.Run("TLS 1.2", func(t *testing.T) {
		b := bundleFor(t, ca, fakedev.ID(3), addr)
		cfg, err := b.TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		if c, err := tls.Dial("tcp", addr, cfg); err == nil {
			c.Close()
			t.Fatal("a TLS 1.2 handshake succeeded")
		}
	})
	t.Run("device trusts only the cloud's CA", func(t *testing.T) {
		b := bundleFor(t, ca, fakedev.ID(3), addr)
		other, err := devca.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		b.CloudCA = string(other.CertPEM())
		dial, err := b.Dial()
		if err != nil {
			t.Fatal(err)
		}
		if c, err := dial(context.Background()); err == nil {
			c.Close()
			t.Fatal("the device accepted a server certificate from another CA")
		}
	})
}

func TestServeNeedsTLS(t *testing.T) {
	s, err := cloud.New(cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); err == nil {
		t.Fatal("Serve without Options.TLS succeeded")
	}
}
