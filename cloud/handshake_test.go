package cloud_test

// The device listener before HELLO, as an attacker finds it (issue 8): a
// bounded first frame, a handshake deadline, one handshaking link per
// certificate, a cap on concurrent handshakes, and the registry as the
// source of truth for who may connect.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

// tlsDialer returns a function that opens a TLS link to addr as device n
// (handshake done, nothing sent).
func tlsDialer(t testing.TB, ca *devca.CA, n int, addr string) func() (*tls.Conn, error) {
	t.Helper()
	cfg, err := bundleFor(t, ca, fakedev.ID(n), addr).TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return func() (*tls.Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Minute}, Config: cfg}
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			return nil, err
		}
		return c.(*tls.Conn), nil
	}
}

func mustDial(t testing.TB, dial func() (*tls.Conn, error)) *tls.Conn {
	t.Helper()
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A device with a valid certificate that announces a 1 MiB frame before
// HELLO is refused having sent 5 bytes: the cloud answers CONTROL ERROR at
// once and closes, without waiting for (or allocating) the frame's body.
// Before, the session allocated the announced size and waited for it until
// its HELLO timeout, holding the memory (400 such links: +450 MB RSS).
func TestBigFirstFrameRefused(t *testing.T) {
	// A handshake deadline far beyond the test's wait: the refusal must
	// not come from a timeout.
	_, ca, addr := tlsCloudWith(t, cloud.Options{HandshakeTimeout: time.Hour})
	dial := tlsDialer(t, ca, 1, addr)
	for _, typ := range []link.FrameType{link.FrameData, link.FrameHello} {
		c := mustDial(t, dial)
		var hdr [5]byte
		binary.BigEndian.PutUint32(hdr[:], link.MaxFrameLen)
		hdr[4] = byte(typ)
		if _, err := c.Write(hdr[:]); err != nil {
			t.Fatal(err)
		}
		msg := fakedev.New(t, c).ExpectError()
		if !strings.Contains(msg, "want HELLO") || !strings.Contains(msg, "1048576") {
			t.Fatalf("%v of 1 MiB: CONTROL ERROR %q, want one naming the size and HELLO", typ, msg)
		}
	}
	// The same certificate says HELLO and is welcome.
	fakedev.New(t, mustDial(t, dial)).Hello(fakedev.ID(1))
}

// A link that completes TLS but never says HELLO is closed at the handshake
// deadline; so is one that does not even start TLS.
func TestHandshakeDeadline(t *testing.T) {
	_, ca, addr := tlsCloudWith(t, cloud.Options{HandshakeTimeout: 100 * time.Millisecond})
	silent := mustDial(t, tlsDialer(t, ca, 1, addr))
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for name, c := range map[string]net.Conn{"TLS without HELLO": silent, "no TLS": raw} {
		_ = c.SetReadDeadline(time.Now().Add(fakedev.Wait))
		_, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s: still open after %v", name, fakedev.Wait)
		}
	}
}

// Links per certificate: of two links handshaking with one certificate the
// older is closed, the newer is welcome; its HELLO then closes the device's
// established link. So one certificate holds at most one handshaking and
// one established link.
func TestOneHandshakePerCertificate(t *testing.T) {
	s, ca, addr := tlsCloudWith(t, cloud.Options{HandshakeTimeout: time.Hour})
	dial := tlsDialer(t, ca, 1, addr)
	established := fakedev.New(t, mustDial(t, dial))
	established.Hello(fakedev.ID(1))

	const n = 3
	type result struct {
		i   int
		f   link.Frame
		err error
	}
	links := make([]*tls.Conn, n)
	results := make(chan result, n)
	for i := range links {
		links[i] = mustDial(t, dial)
		go func() {
			// The cloud sends nothing before WELCOME: the first frame is
			// WELCOME, or an error when the cloud closes the link.
			f, err := link.ReadFrame(bufio.NewReader(links[i]))
			results <- result{i, f, err}
		}()
	}
	// All but one are closed, whichever order the cloud saw them in, and
	// at once: closeWait is generous for that, yet well under the
	// session's own 10 s HELLO timeout, which would close them all.
	const closeWait = 5 * time.Second
	survivor := -1
	closed := map[int]bool{}
	for range n - 1 {
		select {
		case r := <-results:
			if r.err == nil {
				t.Fatalf("link %d got %v before its HELLO", r.i, r.f.Type)
			}
			closed[r.i] = true
		case <-time.After(closeWait):
			t.Fatalf("%d of %d older handshakes with one certificate closed within %v", len(closed), n-1, closeWait)
		}
	}
	for i := range links {
		if !closed[i] {
			survivor = i
		}
	}
	if devs := s.Devices(); len(devs) != 1 || devs[0].DeviceID != fakedev.ID(1) {
		t.Fatal("the established link went away before the new HELLO")
	}
	// The survivor says HELLO (its reader goroutine sees the answer) …
	hello, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := links[survivor].Write(hello); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		if r.i != survivor || r.err != nil || r.f.Type != link.FrameWelcome {
			t.Fatalf("link %d: %v %v, want WELCOME for link %d", r.i, r.f.Type, r.err, survivor)
		}
	case <-time.After(fakedev.Wait):
		t.Fatal("no WELCOME for the newest link")
	}
	// … which closes the established link.
	established.ExpectEnd()
}

// At most MaxHandshakes links handshake at once: clients that never start
// TLS hold the slots and the rest wait, unaccepted, until slots free up.
func TestHandshakesCapped(t *testing.T) {
	const max = 2
	s, ca, addr := tlsCloudWith(t, cloud.Options{MaxHandshakes: max, HandshakeTimeout: time.Hour, ClientHelloTimeout: time.Hour})
	var stallers []net.Conn
	for range max + 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		stallers = append(stallers, c)
	}
	eventually(t, "the handshake slots to fill", func() bool { return s.Handshakes() == max })
	type dialed struct {
		c   *tls.Conn
		err error
	}
	device := make(chan dialed, 1)
	dial := tlsDialer(t, ca, 1, addr)
	go func() {
		c, err := dial()
		device <- dialed{c, err}
	}()
	// The cap holds while the device waits (a window of 200 ms in which
	// neither may happen) …
	var ended *dialed
	if poll.Wait(200*time.Millisecond, func() bool {
		select {
		case d := <-device:
			ended = &d
			return true
		default:
			return s.Handshakes() > max
		}
	}) {
		if ended != nil {
			t.Fatalf("the device's handshake ended while every slot was held: %v", ended.err)
		}
		t.Fatalf("%d handshakes at once, cap %d", s.Handshakes(), max)
	}
	// … and the device gets in once the stallers go.
	for _, c := range stallers {
		c.Close()
	}
	select {
	case d := <-device:
		if d.err != nil {
			t.Fatal(d.err)
		}
		defer d.c.Close()
		fakedev.New(t, d.c).Hello(fakedev.ID(1))
	case <-time.After(fakedev.Wait):
		t.Fatal("the device did not get through after the slots freed")
	}
}

// registry is a device registry in memory.
type registry struct {
	mu      sync.Mutex
	devices map[string]bool
	watch   func(string)
	calls   int
	failAt  int // the DeviceRegistered call (1, 2, …) that fails; 0: none
}

var errRegistryDown = errors.New("registry: connection refused")

func (r *registry) DeviceRegistered(_ context.Context, id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls == r.failAt {
		return false, errRegistryDown
	}
	return r.devices[id], nil
}

func (r *registry) WatchDeletedDevices(_ context.Context, fn func(string)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watch = fn
	return nil
}

func (r *registry) delete(id string) {
	r.mu.Lock()
	delete(r.devices, id)
	fn := r.watch
	r.mu.Unlock()
	fn(id)
}

// With a Registry, a deleted device's live link is dropped and its
// certificate refused from then on; an unregistered device never gets in.
func TestRegistryRevokes(t *testing.T) {
	reg := &registry{devices: map[string]bool{fakedev.ID(1): true}}
	s, ca, addr := tlsCloudWith(t, cloud.Options{Registry: reg})
	dial := tlsDialer(t, ca, 1, addr)
	d := fakedev.New(t, mustDial(t, dial))
	d.Hello(fakedev.ID(1))
	if len(s.Devices()) != 1 {
		t.Fatalf("Devices() = %+v", s.Devices())
	}
	reg.delete(fakedev.ID(1))
	d.ExpectEnd()
	eventually(t, "the device to leave Devices()", func() bool { return len(s.Devices()) == 0 })
	for n, what := range map[int]string{1: "deleted", 2: "never registered"} {
		c := mustDial(t, tlsDialer(t, ca, n, addr))
		msg := fakedev.New(t, c).ExpectError()
		if !strings.Contains(msg, fakedev.ID(n)) || !strings.Contains(msg, "not registered") {
			t.Errorf("%s device: CONTROL ERROR %q", what, msg)
		}
	}
}

// The registry failing at a new link's HELLO refuses that link only: the
// device's established link stays up and stays the device's (a deletion
// still drops it). Before, it was closed as if the device were deleted.
func TestRegistryFailureKeepsEstablishedLink(t *testing.T) {
	// Calls: 1 and 2 for the established link (after TLS, at HELLO), 3
	// after the new link's TLS, 4 at its HELLO.
	reg := &registry{devices: map[string]bool{fakedev.ID(1): true}, failAt: 4}
	s, ca, addr := tlsCloudWith(t, cloud.Options{Registry: reg})
	dial := tlsDialer(t, ca, 1, addr)
	established := fakedev.New(t, mustDial(t, dial))
	established.Hello(fakedev.ID(1))

	refused := fakedev.New(t, mustDial(t, dial))
	refused.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1)})
	refused.ExpectEnd()
	established.SyncQuiet()
	if devs := s.Devices(); len(devs) != 1 || devs[0].DeviceID != fakedev.ID(1) {
		t.Fatalf("Devices() = %+v, want the established link", devs)
	}
	reg.delete(fakedev.ID(1))
	established.ExpectEnd()
}

// Handshakes counts links handshaking, not the slot an idle Serve holds
// while it waits to accept: 0 when nothing handshakes. Before, an idle
// server reported 1 per listener (with MaxHandshakes 1, it never fell to 0).
func TestHandshakesCountsLinks(t *testing.T) {
	s, ca, addr := tlsCloudWith(t, cloud.Options{MaxHandshakes: 1, ClientHelloTimeout: time.Hour, HandshakeTimeout: time.Hour})
	// One link through, so Serve has looped back to Accept.
	fakedev.New(t, mustDial(t, tlsDialer(t, ca, 1, addr))).Hello(fakedev.ID(1))
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the silent link to be counted", func() bool { return s.Handshakes() == 1 })
	raw.Close()
	eventually(t, "no link handshaking", func() bool { return s.Handshakes() == 0 })
}

// A client that opens connections and sends nothing cannot keep devices
// out: its connections give their slots back after ClientHelloTimeout,
// and one address holds at most MaxHandshakesPerIP slots, the connections
// beyond closed at once. Here the silent client is 127.0.0.1, the device
// 127.0.0.2 (another loopback address), and ClientHelloTimeout long, so
// that only the per-address cap lets the device in; then the timeout
// alone, with no per-address cap.
func TestSilentClientsCannotLockOut(t *testing.T) {
	const max, perIP = 4, 2
	silent := func(t *testing.T, addr string, n int) []net.Conn {
		var cs []net.Conn
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			cs = append(cs, c)
		}
		return cs
	}
	// fromOtherIP connects the device from 127.0.0.2. With redial, a
	// handshake the cloud drops is tried again, as a device does: under a
	// short ClientHelloTimeout a loaded machine can send the device's own
	// ClientHello late.
	fromOtherIP := func(t *testing.T, ca *devca.CA, addr string, redial bool) {
		cfg, err := bundleFor(t, ca, fakedev.ID(1), addr).TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Minute, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}, Config: cfg}
		c, err := d.DialContext(context.Background(), "tcp", addr)
		for deadline := time.Now().Add(fakedev.Wait); err != nil && redial && time.Now().Before(deadline); {
			t.Logf("redialling: %v", err)
			c, err = d.DialContext(context.Background(), "tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fakedev.New(t, c).Hello(fakedev.ID(1))
	}
	t.Run("per address", func(t *testing.T) {
		s, ca, addr := tlsCloudWith(t, cloud.Options{MaxHandshakes: max, MaxHandshakesPerIP: perIP,
			ClientHelloTimeout: time.Hour, HandshakeTimeout: time.Hour})
		cs := silent(t, addr, max+2)
		// All but perIP are closed at once (the held ones would answer
		// only after an hour).
		ended := make(chan error, len(cs))
		for _, c := range cs {
			go func() {
				_, err := c.Read(make([]byte, 1))
				ended <- err
			}()
		}
		for closed := 0; closed < len(cs)-perIP; closed++ {
			select {
			case err := <-ended:
				if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("a silent connection: %v, want it closed by the cloud", err)
				}
			case <-time.After(fakedev.Wait):
				t.Fatalf("%d of %d silent connections closed, want %d", closed, len(cs), len(cs)-perIP)
			}
		}
		if n := s.Handshakes(); n != perIP {
			t.Fatalf("Handshakes() = %d, want %d", n, perIP)
		}
		fromOtherIP(t, ca, addr, false)
	})
	t.Run("ClientHello timeout", func(t *testing.T) {
		// Per-address cap as high as the global one; the silent ones
		// take every slot, and lose them after the ClientHello timeout.
		_, ca, addr := tlsCloudWith(t, cloud.Options{MaxHandshakes: max, MaxHandshakesPerIP: max,
			ClientHelloTimeout: 100 * time.Millisecond, HandshakeTimeout: time.Hour})
		for _, c := range silent(t, addr, max) {
			_ = c.SetReadDeadline(time.Now().Add(fakedev.Wait))
			if _, err := io.ReadAll(c); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("a silent connection still open after %v", fakedev.Wait)
				}
			}
		}
		fromOtherIP(t, ca, addr, true)
	})
}
