package test

import (
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/internal/testenv"
)

// The cloud's outbound policy and TLS verification, end to end: requests
// the cloud must not make come back as REQUESTFAILED.

// policyEnv is an env whose cloud is configured by the test.
func policyEnv(t *testing.T, s *testenv.Server, o httpexec.Options) *env {
	t.Helper()
	b := newBlocker()
	c := testenv.NewCloud(t, cloud.Options{HTTP: o})
	t.Cleanup(func() { close(b.release) })
	return &env{srv: s, cloud: c, block: b}
}

// TestPolicyUntrustedCertificate: a server whose certificate the cloud does
// not trust is not reached.
func TestPolicyUntrustedCertificate(t *testing.T) {
	t.Parallel()
	trusted := testenv.NewServer(t, testMux(newBlocker()))
	untrusted := quietServer(t)
	e := policyEnv(t, trusted, httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Resolve:       []string{trusted.Resolve, untrusted.Resolve},
		RootCAs:       []*x509.Certificate{trusted.CA.Cert},
	})
	v := e.newDev(t)
	if _, data := v.do(get(trusted.URL("/hello")), 4096); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("trusted server: result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	if _, data := v.do(get(untrusted.URL("/hello")), 4096); data.Result != abi.HTTPResultRequestFailed {
		t.Fatalf("server with an untrusted certificate: result %s status %d, want REQUESTFAILED", data.Result, data.StatusCode)
	}
}

// TestPolicyLoopbackRefused: without an allow-list entry the cloud refuses
// loopback targets, even ones named by a Resolve override.
func TestPolicyLoopbackRefused(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	s := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	e := policyEnv(t, s, httpexec.Options{
		Resolve: []string{s.Resolve},
		RootCAs: []*x509.Certificate{s.CA.Cert},
	})
	v := e.newDev(t)
	for _, url := range []string{s.URL("/"), "https://127.0.0.1:" + strconv.Itoa(s.Port) + "/"} {
		if _, data := v.do(get(url), 4096); data.Result != abi.HTTPResultRequestFailed {
			t.Errorf("%s without an allow-list: result %s status %d, want REQUESTFAILED", url, data.Result, data.StatusCode)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server was reached %d times", n)
	}
}

// TestPolicyLiteralAddress: an allow-listed address in the URL itself is
// reached (the server's certificate names 127.0.0.1).
func TestPolicyLiteralAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, data := v.do(get("https://127.0.0.1:"+strconv.Itoa(e.srv.Port)+"/hello"), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	if b := v.body(ch, data.BodyLength); string(b) != "hello, device" {
		t.Errorf("body %q", b)
	}
}

// quietServer is testenv.NewServer whose TLS handshake errors (expected
// here: the cloud rejects its certificate) are not logged.
func quietServer(t *testing.T) *testenv.Server {
	t.Helper()
	ca, err := pki.NewCA("mvnet untrusted test CA")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ca.ServerTLS(testenv.Host, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		Handler:           testMux(newBlocker()),
		TLSConfig:         conf,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = hs.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	p := strconv.Itoa(port)
	return &testenv.Server{CA: ca, Port: port, Base: "https://" + testenv.Host + ":" + p, Resolve: testenv.Host + ":" + p + ":127.0.0.1", HTTP: hs}
}
