package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

func TestBrokerBadFlagsGiveClearErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"broker", "--listen", "1883"}, `--listen "1883": want host:port such as 127.0.0.1:1883`},
		{[]string{"broker", "--listen", "127.0.0.1:70000"}, `port "70000" is not a number from 0 to 65535`},
		{[]string{"broker", "--listen", "127.0.0.1:mqtt"}, `port "mqtt" is not a number`},
		{[]string{"broker", "--listen", busy.Addr().String()}, "address already in use"},
		{[]string{"broker", "--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"broker", "--tls-key", "key.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"broker", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, "--tls-cert/--tls-key: open /nonexistent/cert.pem"},
		{[]string{"broker", "--user", "alice"}, `--user "alice": want name:password`},
		{[]string{"broker", "--user", ":secret"}, `--user ":secret": want name:password`},
		{[]string{"broker", "--user", "a:1", "--user", "a:2"}, `user "a" given twice`},
		{[]string{"broker", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"broker", "extra"}, `unknown command "extra"`},
	}
	for _, c := range cases {
		_, err := run(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want it to mention %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the command's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningRE = regexp.MustCompile(`listening on (mqtts?)://(\S+) \(([^)]*)\)`)

// startBrokerCmd runs `mvnet broker args...` until ctx ends and returns the
// scheme and address it prints.
func startBrokerCmd(t *testing.T, ctx context.Context, args ...string) (scheme, addr string, out *syncBuffer, done <-chan error) {
	t.Helper()
	root := newRoot()
	out = &syncBuffer{}
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs(append([]string{"broker"}, args...))
	errc := make(chan error, 1)
	go func() { errc <- root.ExecuteContext(ctx) }()
	var m []string
	var exited bool
	var exitErr error
	if !poll.Wait(10*time.Second, func() bool {
		if m = listeningRE.FindStringSubmatch(out.String()); m != nil {
			return true
		}
		select {
		case exitErr = <-errc:
			exited = true
			return true
		default:
			return false
		}
	}) {
		t.Fatalf("mvnet broker printed no address:\n%s", out)
	}
	if exited {
		t.Fatalf("mvnet broker exited: %v\n%s", exitErr, out)
	}
	return m[1], m[2], out, errc
}

func connectPaho(t *testing.T, conn net.Conn, user, password string) *paho.Connack {
	t.Helper()
	c := paho.NewClient(paho.ClientConfig{Conn: pahopackets.NewThreadSafeConn(conn)}) // paho writes a packet in pieces; over TLS its pinger could interleave
	cp := &paho.Connect{ClientID: "cmd-test", KeepAlive: 30, CleanStart: true}
	if user != "" {
		cp.Username, cp.UsernameFlag = user, true
		cp.Password, cp.PasswordFlag = []byte(password), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if ca == nil {
		t.Fatalf("connect: %v", err)
	}
	if ca.ReasonCode == 0 {
		t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	}
	return ca
}

func waitExit(t *testing.T, done <-chan error, out *syncBuffer) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("mvnet broker: %v\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("mvnet broker did not stop:\n%s", out)
	}
	if !strings.Contains(out.String(), "mvnet broker: stopped") {
		t.Errorf("output lacks the stop line:\n%s", out)
	}
}

// The interrupt (SIGINT) reaches the command as the cancellation of its
// context (main's signal.NotifyContext); this test cancels it directly.
func TestBrokerServesUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scheme, addr, out, done := startBrokerCmd(t, ctx, "--listen", "127.0.0.1:0", "--user", "alice:s3cret", "--user", "bob:pw:with:colons")
	if scheme != "mqtt" || !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("printed %s://%s\n%s", scheme, addr, out)
	}
	if !strings.Contains(out.String(), "2 user(s)") {
		t.Errorf("output does not mention the users:\n%s", out)
	}
	for _, c := range []struct {
		user, password string
		reason         byte
	}{{"alice", "s3cret", 0}, {"bob", "pw:with:colons", 0}, {"alice", "wrong", 0x86}} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if ca := connectPaho(t, conn, c.user, c.password); ca.ReasonCode != c.reason {
			t.Errorf("%s:%s: reason %#x, want %#x", c.user, c.password, ca.ReasonCode, c.reason)
		}
	}
	cancel()
	waitExit(t, done, out)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after shutdown")
	}
}

func TestBrokerStopsOnSIGTERM(t *testing.T) {
	_, addr, out, done := startBrokerCmd(t, context.Background(), "--listen", "127.0.0.1:0")
	// The command has registered for SIGTERM before printing its address.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, out)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after SIGTERM")
	}
}

func TestBrokerTLS(t *testing.T) {
	ca, err := pki.NewCA("mvnet broker command test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{"localhost", "127.0.0.1"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scheme, addr, out, done := startBrokerCmd(t, ctx, "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if scheme != "mqtts" {
		t.Fatalf("printed %s://%s, want mqtts\n%s", scheme, addr, out)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if ca := connectPaho(t, conn, "", ""); ca.ReasonCode != 0 {
		t.Fatalf("reason %#x", ca.ReasonCode)
	}
	cancel()
	waitExit(t, done, out)
}
