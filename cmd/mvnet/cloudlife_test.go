package main

// Issue 8, the standalone cloud as an operator finds it: nothing issued may
// be lost or half-done (first start, device create), a lost token is never
// fatal (token rotate), and deleting a device revokes it.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/apiclient"
	"github.com/mvnet/mvnet/internal/cliconfig"
	"github.com/mvnet/mvnet/link"
)

// isolateCLI gives the test its own credentials file and no MVNET_*
// credentials from the environment.
func isolateCLI(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{cliconfig.EnvURL, cliconfig.EnvAccountSid, cliconfig.EnvAuthToken} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func savedCredentials(t *testing.T) cliconfig.Credentials {
	t.Helper()
	p, err := cliconfig.Path()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cliconfig.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiWorks reports whether the token opens the API at url.
func apiWorks(t *testing.T, url, account, token string) bool {
	t.Helper()
	c, err := apiclient.New(url, account, token)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListDevices(context.Background())
	if err != nil && !apiclient.IsStatus(err, 401) {
		t.Fatalf("API at %s: %v", url, err)
	}
	return err == nil
}

// A first start that cannot bind its API port creates no account, so the
// next start shows the token and writes the credentials file (before, the
// account was created first and its token never shown).
func TestFirstStartIsAtomic(t *testing.T) {
	isolateCLI(t)
	data := filepath.Join(t.TempDir(), "data")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if out, err := run("cloud", "serve", "--data-dir", data, "--listen-devices", "127.0.0.1:0", "--listen-api", busy.Addr().String()); err == nil || !strings.Contains(err.Error(), "--listen-api") {
		t.Fatalf("first start on a busy API port: %v\n%s", err, out)
	}
	_, out := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	account, token, apiURL := field(out.String(), "account"), field(out.String(), "token"), field(out.String(), "api")
	if token == "" || !strings.Contains(out.String(), "credentials written") {
		t.Fatalf("the start after a failed one shows no token:\n%s", out.String())
	}
	if c := savedCredentials(t); c.AuthToken != token || c.AccountSid != account || c.URL != apiURL {
		t.Fatalf("credentials file %+v", c)
	}
	if !apiWorks(t, apiURL, account, token) {
		t.Fatal("the shown token does not open the API")
	}
}

// mvnet cloud token rotate: on the stopped data directory (no credentials
// needed: the way back from a lost token) and through the running cloud's
// API; each time the old token stops working and the new one is saved.
func TestCloudTokenRotate(t *testing.T) {
	isolateCLI(t)
	data := filepath.Join(t.TempDir(), "data")
	stop, out := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	account, first := field(out.String(), "account"), field(out.String(), "token")
	stop()

	// The token is lost: the credentials file goes too.
	p, _ := cliconfig.Path()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	rot, err := run("cloud", "token", "rotate", "--data-dir", data)
	if err != nil {
		t.Fatalf("rotate on the stopped data directory: %v\n%s", err, rot)
	}
	second := field(rot, "token")
	if field(rot, "account") != account || len(second) != 32 || second == first {
		t.Fatalf("rotate printed:\n%s", rot)
	}
	_, out = startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	apiURL := field(out.String(), "api")
	if field(out.String(), "token") != "" {
		t.Fatalf("a restart showed a token:\n%s", out.String())
	}
	if apiWorks(t, apiURL, account, first) || !apiWorks(t, apiURL, account, second) {
		t.Fatal("after rotating on the data directory: want the old token refused and the new one accepted")
	}
	// The cloud.json of the stopped cloud named an API port now gone; the
	// credentials file gets the running one for the next rotation.
	if err := cliconfig.Save(p, cliconfig.Credentials{URL: apiURL, AccountSid: account, AuthToken: second}); err != nil {
		t.Fatal(err)
	}

	// Through the running cloud's API, with the saved credentials.
	rot, err = run("cloud", "token", "rotate", "--data-dir", data)
	if err != nil {
		t.Fatalf("rotate through the API: %v\n%s", err, rot)
	}
	third := field(rot, "token")
	if len(third) != 32 || third == second {
		t.Fatalf("rotate printed:\n%s", rot)
	}
	if apiWorks(t, apiURL, account, second) || !apiWorks(t, apiURL, account, third) {
		t.Fatal("after rotating through the API: want the old token refused and the new one accepted")
	}
	if c := savedCredentials(t); c.AuthToken != third {
		t.Fatalf("credentials file not updated: %+v", c)
	}
}

// device create with an unwritable --out registers nothing, on the data
// directory and through the API: the name stays free.
func TestDeviceCreateUnwritableOut(t *testing.T) {
	isolateCLI(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	stop, _ := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	// Through the API (the cloud runs).
	bad := filepath.Join(dir, "nonexistent", "x.json")
	if _, err := run("device", "create", "--data-dir", data, "--unique-name", "pump", "--out", bad); err == nil {
		t.Fatal("device create --out into a missing directory succeeded")
	}
	if out, err := run("device", "list"); err != nil || strings.Contains(out, "pump") || !strings.Contains(out, "no devices") {
		t.Fatalf("after a failed create through the API: %v\n%s", err, out)
	}
	stop()
	// On the stopped data directory.
	if _, err := run("device", "create", "--data-dir", data, "--unique-name", "pump", "--out", bad); err == nil {
		t.Fatal("device create --out into a missing directory succeeded")
	}
	st, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.ListDevices(context.Background(), store.Page{})
	st.Close()
	if err != nil || len(l.Items) != 0 {
		t.Fatalf("after a failed create on the data directory: %+v, %v", l.Items, err)
	}
	good := filepath.Join(dir, "pump.json")
	if out, err := run("device", "create", "--data-dir", data, "--unique-name", "pump", "--out", good); err != nil {
		t.Fatalf("the name is not free: %v\n%s", err, out)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".mvnet-bundle-*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

// helloLink opens a TLS link with b's certificate and says HELLO; it
// returns the link and the first frame the cloud answers (or the error).
func helloLink(t *testing.T, b *device.Bundle) (net.Conn, *bufio.Reader, link.Frame, error) {
	t.Helper()
	cfg, err := b.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", b.CloudAddress, cfg)
	if err != nil {
		return nil, nil, link.Frame{}, err
	}
	t.Cleanup(func() { c.Close() })
	hello, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: b.DeviceSid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(hello); err != nil {
		return c, nil, link.Frame{}, err
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	f, err := link.ReadFrame(br)
	return c, br, f, err
}

// linkedDevice creates a device in the cloud serving data (its bundle at
// path; args go to device create) and links it: HELLO answered by WELCOME.
func linkedDevice(t *testing.T, data, path string, args ...string) (*device.Bundle, *bufio.Reader) {
	t.Helper()
	if out, err := run(append([]string{"device", "create", "--data-dir", data, "--out", path}, args...)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := device.LoadBundle(path)
	if err != nil {
		t.Fatal(err)
	}
	_, br, f, err := helloLink(t, b)
	if err != nil || f.Type != link.FrameWelcome {
		t.Fatalf("device link: %v %v, want WELCOME", f.Type, err)
	}
	return b, br
}

// firstFrame opens a TLS link as b's device and returns the first frame
// the cloud sends, without sending anything.
func firstFrame(t *testing.T, b *device.Bundle) (link.Frame, error) {
	t.Helper()
	cfg, err := b.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", b.CloudAddress, cfg)
	if err != nil {
		return link.Frame{}, err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	return link.ReadFrame(bufio.NewReader(c))
}

// mvnet device delete revokes: the device's live link is dropped, its
// redial refused, its name free; through the API and on the data directory.
func TestDeviceDelete(t *testing.T) {
	isolateCLI(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	stop, _ := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	b, br := linkedDevice(t, data, filepath.Join(dir, "pump.json"), "--unique-name", "pump")

	out, err := run("device", "delete", "pump", "--data-dir", data)
	if err != nil || field(out, "deleted") != b.DeviceSid {
		t.Fatalf("device delete: %v\n%s", err, out)
	}
	// The live link is dropped (the cloud may send log settings first).
	for {
		f, err := link.ReadFrame(br)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the deleted device's link is still up")
			}
			break
		}
		if f.Type != link.FrameControl {
			t.Fatalf("got %v on the deleted device's link", f.Type)
		}
	}
	// Its certificate is refused, right after the TLS handshake: the
	// first frame is CONTROL ERROR, read before sending HELLO (a HELLO
	// the cloud never reads could make its close a reset that loses the
	// frame).
	if f, err := firstFrame(t, b); err != nil || f.Type != link.FrameControl || f.Kind != link.ControlError || !strings.Contains(string(f.Payload), "not registered") {
		t.Fatalf("redial after delete: %v %q (%v), want CONTROL ERROR (not registered)", f.Type, f.Payload, err)
	}
	if _, err := run("device", "delete", "pump", "--data-dir", data); err == nil || !strings.Contains(err.Error(), "no device") {
		t.Fatalf("second delete: %v", err)
	}
	stop()

	// On the stopped data directory.
	if out, err := run("device", "create", "--data-dir", data, "--unique-name", "pump", "--out", "-"); err != nil {
		t.Fatalf("the name is not free after delete: %v\n%s", err, out)
	}
	if out, err := run("device", "delete", "pump", "--data-dir", data); err != nil || !strings.HasPrefix(field(out, "deleted"), "UV") {
		t.Fatalf("delete on the data directory: %v\n%s", err, out)
	}
	if _, err := run("device", "delete", "pump", "--data-dir", data); err == nil || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete on the data directory: %v", err)
	}
}

// TestCloudServeLinkFlags: the keep-alive flags reach the device listener —
// a device link that never answers is pinged after --ping-interval and
// dropped after --idle-timeout (the defaults, 15 s and 45 s, would outlast
// the read deadline) — and a negative limit is refused, naming its flag,
// before anything starts.
func TestCloudServeLinkFlags(t *testing.T) {
	isolateCLI(t)
	dir := t.TempDir()
	for _, flag := range []string{"--max-handshakes", "--max-handshakes-per-ip", "--handshake-timeout", "--client-hello-timeout", "--ping-interval", "--idle-timeout", "--max-conns-per-host", "--max-outbound-conns", "--max-dials"} {
		v := "-1"
		if strings.HasSuffix(flag, "timeout") || strings.HasSuffix(flag, "interval") {
			v = "-1s"
		}
		data := filepath.Join(dir, "bad")
		if _, err := run("cloud", "serve", "--data-dir", data, flag, v); err == nil || !strings.HasPrefix(err.Error(), flag+" "+v+": must not be negative") {
			t.Errorf("cloud serve %s %s: %v, want an error naming the flag", flag, v, err)
		}
		if _, err := os.Stat(data); err == nil {
			t.Fatalf("cloud serve %s %s created its data directory", flag, v)
		}
	}

	data := filepath.Join(dir, "data")
	stop, _ := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0", "--ping-interval", "100ms", "--idle-timeout", "1s")
	defer stop()
	_, br := linkedDevice(t, data, filepath.Join(dir, "silent.json"))
	pings := 0
	for {
		f, err := link.ReadFrame(br)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("a silent link is still up after %d PINGs (read deadline)", pings)
			}
			break // dropped
		}
		if f.Type == link.FrameControl && f.Kind == link.ControlPing {
			pings++
		}
	}
	if pings == 0 {
		t.Fatal("the cloud dropped the silent link without pinging it first")
	}
}
