package sdktest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/runner"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// Issue 8: a device that cannot reach its cloud must say why, at the
// default log level and in the trace, instead of hanging at CONNECTING
// with nothing printed.

// waitingApp makes one system call (which starts the library, its kernel
// and so the link) and then waits to be killed.
const waitingApp = `#include <stdio.h>
#include <unistd.h>
#include "mv_syscalls.h"
int main(void) {
	uint64_t us = 0;
	mvGetMicroseconds(&us);
	printf("started\n");
	fflush(stdout);
	for (;;) pause();
}
`

const linkErrDevice = "UV000000000000000000000000000e4404"

// unreachableBundle writes a bundle for linkErrDevice naming addr as its
// cloud, with a fresh device CA.
func unreachableBundle(t *testing.T, addr string) string {
	t.Helper()
	dir := t.TempDir()
	ca, err := devca.Open(filepath.Join(dir, "devca"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueDevice(linkErrDevice, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := &device.Bundle{Version: device.BundleVersion, DeviceSid: linkErrDevice, CloudAddress: addr,
		CloudCA: string(ca.CertPEM()), Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	path := filepath.Join(dir, "bundle.json")
	if err := b.Write(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// foreignCloud is a TLS listener whose certificate comes from a CA the
// device does not trust (a wrong cloud_ca in the bundle). accepts gets a
// value per connection accepted (dropped when full).
func foreignCloud(t *testing.T) (addr string, accepts <-chan struct{}) {
	t.Helper()
	other, err := devca.Open(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := other.ServerCertificate("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.ServeCounting(t, ln, func(c net.Conn) {
		go func() {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}()
	})
}

// syncBuf is a bytes.Buffer safe for a writer goroutine and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls s until it contains every want or the deadline passes.
func waitFor(t *testing.T, what string, s interface{ String() string }, want ...string) {
	t.Helper()
	if !poll.Wait(60*time.Second, func() bool { return containsAll(s.String(), want...) }) {
		t.Fatalf("%s never said %q:\n%s", what, want, s.String())
	}
}

func containsAll(s string, want ...string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// TestBundleLinkErrorPrinted: a C application with MVNET_BUNDLE naming a
// cloud whose certificate it cannot verify prints the link error on
// stderr at the default level (MVNET_LOG unset) and traces it, once.
func TestBundleLinkErrorPrinted(t *testing.T) {
	bin := compile(t, "waiting", waitingApp, static)
	addr, accepts := foreignCloud(t)
	bundle := unreachableBundle(t, addr)
	tracePath := filepath.Join(t.TempDir(), "trace.jsonl")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "MVNET_BUNDLE="+bundle, "MVNET_TRACE="+tracePath, "MVNET_LOG=")
	var stdout, stderr syncBuf
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	const want = "certificate signed by unknown authority"
	waitFor(t, "the application's stderr", &stderr, "link error", "cannot reach the cloud", want)
	trace := fileString(tracePath)
	waitFor(t, "the trace", trace, `"kind":"link-error"`, want)
	// A repeat would come with the next dial: count after 3 failed dials
	// (the 4th dial comes after the 3rd failure was reported).
	for i := 0; i < 4; i++ {
		select {
		case <-accepts:
		case <-time.After(60 * time.Second):
			t.Fatalf("the application dialled the cloud %d times, want 4", i)
		}
	}
	if n := strings.Count(stderr.String(), "link error"); n != 1 {
		t.Errorf("the link error was printed %d times, want once (then on change):\n%s", n, stderr.String())
	}
	var lines int
	for _, l := range strings.Split(trace.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["kind"] == "link-error" {
			lines++
		}
	}
	if lines != 1 {
		t.Errorf("%d link-error trace lines, want 1:\n%s", lines, trace.String())
	}
}

// fileString reads a file afresh each time it is asked for its contents.
type fileString string

func (f fileString) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}

// TestRunPrintsLinkError: mvnet run (internal/runner) with a bundle naming
// a cloud that refuses connections shows the link error in its
// transcript.
func TestRunPrintsLinkError(t *testing.T) {
	bin := compile(t, "waiting", waitingApp, static)
	bundle := unreachableBundle(t, testenv.ClosedAddr(t))
	var transcript, out syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runner.Run(ctx, runner.Options{App: bin, Bundle: bundle, Stdout: &out, Stderr: &out, Transcript: &transcript})
	}()
	waitFor(t, "the transcript", &transcript, "⚠ link: cannot reach the cloud", "connection refused")
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("mvnet run did not end after its context")
	}
	// The transcript shows the link error; the library's log must not
	// repeat it on the application's stderr.
	if s := out.String(); strings.Contains(s, "link error") {
		t.Fatalf("the link error is printed twice; the application's output:\n%s", s)
	}
}

// TestDiagnosticInTrace: a C application's request the cloud's outbound
// policy refuses ends MV_HTTPRESULT_REQUESTFAILED, and the trace gives the
// cloud's reason.
func TestDiagnosticInTrace(t *testing.T) {
	bin := compileFile(t, "http_get", static)
	r := run(t, bin, nil, 60*time.Second, "https://127.0.0.1:9/")
	if r.code == 0 || !strings.Contains(r.stdout, "result=5") { // MV_HTTPRESULT_REQUESTFAILED
		t.Fatalf("a loopback target was reached: %v", r)
	}
	d := r.lines("diagnostic")
	if len(d) != 1 {
		t.Fatalf("%d diagnostic lines, want 1: %v", len(d), r.trace)
	}
	if text, _ := d[0]["text"].(string); !strings.Contains(text, "outbound policy refused the target: 127.0.0.1 is loopback") {
		t.Fatalf("diagnostic %q", text)
	}
	if ch, _ := d[0]["channel"].(string); !strings.HasPrefix(ch, "0x") {
		t.Fatalf("diagnostic channel %v", d[0]["channel"])
	}
}
