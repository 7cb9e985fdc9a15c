// Package mosquitto starts Mosquitto MQTT brokers for tests: each broker
// runs from a generated configuration in a t.TempDir(), listens on a free
// 127.0.0.1 port, and is stopped by t.Cleanup. Configurations cover plain
// TCP, TLS (optionally requiring client certificates), and a password file
// with ACLs.
//
// Tests call Require first: when Mosquitto is not installed (the Debian
// package "mosquitto"; .ci/run installs it) it skips the test, or fails it
// under CI=true (see internal/testenv/tool).
package mosquitto

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// Binary returns the path of the mosquitto executable, or "" if it is not
// installed. Debian installs it in /usr/sbin, which is not always on PATH.
func Binary() string { return tool.Path("mosquitto") }

// Require skips t (fails it under CI=true) when Mosquitto is not installed.
func Require(t testing.TB) {
	t.Helper()
	tool.Require(t, "mosquitto")
}

// Options configure a broker.
type Options struct {
	// TLS makes the listener speak TLS.
	TLS *TLS
	// Users, when not empty, are written to a password file (user name →
	// password) and anonymous clients are refused unless AllowAnonymous.
	Users map[string]string
	// AllowAnonymous lets clients without a user name in when Users is set.
	AllowAnonymous bool
	// ACL is the content of an ACL file (mosquitto.conf(5), acl_file), e.g.
	// "user alice\ntopic readwrite allowed/#\n". Empty: no ACL file.
	ACL string
	// DynSec loads Mosquitto's dynamic security plugin with this
	// configuration. Unlike acl_file, which Mosquitto 2.0 never consults
	// for SUBSCRIBE (every subscription is granted, messages are filtered
	// on delivery), the plugin refuses subscriptions per topic. Use
	// RequireDynSec first: the plugin may be missing.
	DynSec *DynSec
	// Extra lines appended to the configuration.
	Extra []string
}

// DynSec configures the dynamic security plugin: every user gets one role
// holding ACLs; what no ACL covers is decided by the defaults (publishing
// and receiving allowed, subscribing refused, unsubscribing allowed).
type DynSec struct {
	Users map[string]string // user name → password
	ACLs  []ACL
}

// ACL is one dynamic security ACL, e.g. {"subscribePattern", "a/#", true}.
// Types: publishClientSend, publishClientReceive, subscribeLiteral,
// subscribePattern, unsubscribeLiteral, unsubscribePattern.
type ACL struct {
	Type  string
	Topic string
	Allow bool
}

// DynSecPlugin returns the path of the dynamic security plugin, or "" if
// it is not installed (Debian ships it in the mosquitto package).
func DynSecPlugin() string {
	var cands []string
	for _, pattern := range []string{"/usr/lib/*/mosquitto_dynamic_security.so", "/usr/lib/mosquitto_dynamic_security.so", "/usr/local/lib/mosquitto_dynamic_security.so"} {
		m, _ := filepath.Glob(pattern)
		cands = append(cands, m...)
	}
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// RequireDynSec skips t (fails it under CI=true) when Mosquitto or its
// dynamic security plugin is not installed.
func RequireDynSec(t testing.TB) {
	t.Helper()
	Require(t)
	if DynSecPlugin() == "" {
		tool.Missing(t, "mosquitto's dynamic security plugin (mosquitto_dynamic_security.so, Debian package mosquitto) is not installed")
	}
}

// dynSecJSON renders d in the plugin's configuration file format, passwords
// hashed as PasswordLine does.
func dynSecJSON(d *DynSec) ([]byte, error) {
	type roleRef struct {
		Rolename string `json:"rolename"`
	}
	type client struct {
		Username   string    `json:"username"`
		Password   string    `json:"password"`
		Salt       string    `json:"salt"`
		Iterations int       `json:"iterations"`
		Roles      []roleRef `json:"roles"`
	}
	type acl struct {
		Type  string `json:"acltype"`
		Topic string `json:"topic"`
		Allow bool   `json:"allow"`
	}
	type role struct {
		Rolename string `json:"rolename"`
		ACLs     []acl  `json:"acls"`
	}
	cfg := struct {
		Default map[string]bool `json:"defaultACLAccess"`
		Clients []client        `json:"clients"`
		Groups  []struct{}      `json:"groups"`
		Roles   []role          `json:"roles"`
	}{
		Default: map[string]bool{"publishClientSend": true, "publishClientReceive": true, "subscribe": false, "unsubscribe": true},
		Groups:  []struct{}{},
	}
	r := role{Rolename: "tests", ACLs: []acl{}}
	for _, a := range d.ACLs {
		r.ACLs = append(r.ACLs, acl(a))
	}
	cfg.Roles = []role{r}
	names := make([]string, 0, len(d.Users))
	for name := range d.Users {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		salt, hash := hashPassword(d.Users[name])
		cfg.Clients = append(cfg.Clients, client{Username: name, Password: hash, Salt: salt, Iterations: pwIterations, Roles: []roleRef{{"tests"}}})
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// TLS configures the listener's TLS.
type TLS struct {
	// Cert is the server's certificate chain and key.
	Cert tls.Certificate
	// CAs verify client certificates (cafile). At least one is needed.
	CAs []*x509.Certificate
	// RequireCertificate makes clients present a certificate signed by CAs.
	RequireCertificate bool
}

// Broker is a running (or stopped) Mosquitto.
type Broker struct {
	Port int
	Addr string // 127.0.0.1:Port
	Dir  string // holds the configuration and files it names

	t    testing.TB
	conf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  bytes.Buffer  // every run's output
}

// Start starts a broker configured by o on a free loopback port and stops
// it when the test ends. If the test fails, the broker's log is printed.
func Start(t testing.TB, o Options) *Broker {
	t.Helper()
	Require(t)
	b := &Broker{t: t, Dir: t.TempDir()}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", b.Log())
		}
	})
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if b.Port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		b.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port))
		if err = b.writeConfig(o); err != nil {
			t.Fatal(err)
		}
		if err = b.Restart(); err == nil {
			return b
		}
		// Most likely another process took the port between freePort and
		// the broker's bind: try another.
	}
	t.Fatalf("mosquitto did not start: %v\n%s", err, b.Log())
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (b *Broker) writeConfig(o Options) error {
	var c strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&c, format+"\n", args...) }
	if u, err := user.Current(); err == nil {
		line("user %s", u.Username) // as root, mosquitto would switch to "mosquitto" and lose the files
	}
	line("per_listener_settings false")
	line("persistence false")
	line("log_dest stderr")
	line("log_type all")
	line("connection_messages true")
	line("listener %d 127.0.0.1", b.Port)
	if o.TLS != nil {
		if len(o.TLS.CAs) == 0 {
			return errors.New("mosquitto: TLS needs at least one CA")
		}
		var cas []byte
		for _, ca := range o.TLS.CAs {
			cas = append(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
		}
		key, err := pki.KeyPEM(o.TLS.Cert)
		if err != nil {
			return err
		}
		files := map[string][]byte{"ca.pem": cas, "server.pem": pki.CertPEM(o.TLS.Cert), "server-key.pem": key}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(b.Dir, name), data, 0o600); err != nil {
				return err
			}
		}
		line("cafile %s", filepath.Join(b.Dir, "ca.pem"))
		line("certfile %s", filepath.Join(b.Dir, "server.pem"))
		line("keyfile %s", filepath.Join(b.Dir, "server-key.pem"))
		line("require_certificate %t", o.TLS.RequireCertificate)
	}
	switch {
	case len(o.Users) > 0:
		var pw strings.Builder
		names := make([]string, 0, len(o.Users))
		for name := range o.Users {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			pw.WriteString(PasswordLine(name, o.Users[name]) + "\n")
		}
		path := filepath.Join(b.Dir, "passwd")
		if err := os.WriteFile(path, []byte(pw.String()), 0o600); err != nil {
			return err
		}
		line("password_file %s", path)
		line("allow_anonymous %t", o.AllowAnonymous)
	case o.DynSec != nil:
		line("allow_anonymous %t", o.AllowAnonymous)
	default:
		line("allow_anonymous true")
	}
	if o.DynSec != nil {
		plugin := DynSecPlugin()
		if plugin == "" {
			return errors.New("mosquitto: the dynamic security plugin is not installed (see RequireDynSec)")
		}
		data, err := dynSecJSON(o.DynSec)
		if err != nil {
			return err
		}
		path := filepath.Join(b.Dir, "dynamic-security.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
		line("plugin %s", plugin)
		line("plugin_opt_config_file %s", path)
	}
	if o.ACL != "" {
		path := filepath.Join(b.Dir, "acl")
		if err := os.WriteFile(path, []byte(o.ACL), 0o600); err != nil {
			return err
		}
		line("acl_file %s", path)
	}
	for _, l := range o.Extra {
		line("%s", l)
	}
	b.conf = filepath.Join(b.Dir, "mosquitto.conf")
	return os.WriteFile(b.conf, []byte(c.String()), 0o600)
}

// PasswordLine returns a Mosquitto password file line for user and
// password: "user:$7$101$salt$hash", PBKDF2-HMAC-SHA512 with 101 iterations
// and a 12-byte salt, base64-encoded, as mosquitto_passwd 2.0 writes it.
func PasswordLine(user, password string) string {
	salt, hash := hashPassword(password)
	return fmt.Sprintf("%s:$7$%d$%s$%s", user, pwIterations, salt, hash)
}

// pwIterations is mosquitto_passwd 2.0's PBKDF2 iteration count.
const pwIterations = 101

// hashPassword returns a fresh 12-byte salt and the PBKDF2-HMAC-SHA512 hash
// of password with it, both base64-encoded.
func hashPassword(password string) (salt, hash string) {
	s := make([]byte, 12)
	if _, err := rand.Read(s); err != nil {
		panic(err)
	}
	h, err := pbkdf2.Key(sha512.New, password, s, pwIterations, sha512.Size)
	if err != nil {
		panic(err)
	}
	enc := base64.StdEncoding.EncodeToString
	return enc(s), enc(h)
}

// Restart starts the broker again on the same port with the same
// configuration (a stopped broker; Start already started it once) and
// waits until it accepts connections.
func (b *Broker) Restart() error {
	b.mu.Lock()
	if b.cmd != nil {
		b.mu.Unlock()
		return errors.New("mosquitto: already running")
	}
	cmd := exec.Command(Binary(), "-c", b.conf)
	cmd.Stdout = lockedWriter{b}
	cmd.Stderr = lockedWriter{b}
	if err := cmd.Start(); err != nil {
		b.mu.Unlock()
		return err
	}
	done := make(chan struct{})
	b.cmd, b.done = cmd, done
	b.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		b.mu.Lock()
		if b.cmd == cmd {
			b.cmd = nil
		}
		b.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("mosquitto exited before accepting connections")
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Kill()
			return fmt.Errorf("mosquitto did not accept connections on %s within 10 s: %v", b.Addr, err)
		}
	}
}

// Stop stops the broker (SIGTERM, SIGKILL after 5 s) and waits for it.
// Stopping a stopped broker does nothing.
func (b *Broker) Stop() { b.signalAndWait(syscall.SIGTERM, 5*time.Second) }

// Kill kills the broker (SIGKILL) and waits for it.
func (b *Broker) Kill() { b.signalAndWait(syscall.SIGKILL, 0) }

func (b *Broker) signalAndWait(sig syscall.Signal, grace time.Duration) {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	if sig != syscall.SIGKILL {
		// A paused broker cannot act on SIGTERM. SIGKILL needs no SIGCONT,
		// and must not get one: resumed for a moment, a paused broker would
		// answer what it received meanwhile (e.g. PUBACK a publish that a
		// test kills it to leave in flight).
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

// Pause stops the broker's process (SIGSTOP) without closing its
// connections: to its clients it looks like a dead network path. It
// returns once the kernel reports the process stopped: kill(2) only queues
// the signal, and a broker still running for a moment after it could
// answer a packet the test sends next (e.g. PUBACK a publish the test
// expects to stay in flight).
func (b *Broker) Pause() {
	b.mu.Lock()
	cmd := b.cmd
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGSTOP)
	stat := fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		st, err := procState(stat)
		if err != nil || st == 'T' || st == 't' || st == 'Z' || st == 'X' {
			return // stopped (or gone, or no /proc to tell)
		}
	}
	b.t.Errorf("mosquitto: the broker (pid %d) did not stop within 30s of SIGSTOP", cmd.Process.Pid)
}

// procState returns the state letter of /proc/PID/stat ("pid (comm) S …").
func procState(path string) (byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, fmt.Errorf("%s: unexpected %q", path, b)
	}
	return b[i+2], nil
}

// Continue resumes a paused broker (SIGCONT).
func (b *Broker) Continue() { b.signal(syscall.SIGCONT) }

func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		_ = b.cmd.Process.Signal(sig)
	}
}

// Log returns what the broker has written so far, over all its runs.
func (b *Broker) Log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

type lockedWriter struct{ b *Broker }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.log.Write(p)
}
