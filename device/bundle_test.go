package device

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/link"
)

// TestBundleAddresses: Addresses falls back to CloudAddress, and Check
// names a bad entry of CloudAddresses.
func TestBundleAddresses(t *testing.T) {
	b := &Bundle{CloudAddress: "a:1"}
	if got := b.Addresses(); len(got) != 1 || got[0] != "a:1" {
		t.Errorf("Addresses without CloudAddresses: %v", got)
	}
	b.CloudAddresses = []string{"a:1", "b:2"}
	if got := b.Addresses(); len(got) != 2 || got[1] != "b:2" {
		t.Errorf("Addresses: %v", got)
	}
	b.Version, b.DeviceSid = BundleVersion, "UV"+strings.Repeat("0", 31)+"1"
	b.CloudAddresses = []string{"a:1", "nohostport"}
	if err := b.Check(); err == nil || !strings.Contains(err.Error(), `cloud_addresses entry "nohostport"`) {
		t.Errorf("Check: %v", err)
	}
}

// TestDialMovesOn: the dial function skips an address that refuses and
// then starts with the one that worked; it fails naming every address
// when none answers.
func TestDialMovesOn(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // refuses from now on
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	accepted := make(chan string, 4)
	go func() {
		for {
			c, err := live.Accept()
			if err != nil {
				return
			}
			accepted <- c.RemoteAddr().String()
			c.Close() // the TLS handshake fails: enough to see the attempt
		}
	}()
	b := testBundle(t)
	b.CloudAddresses = []string{deadAddr, live.Addr().String()}
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = dial(ctx)
	if err == nil || !strings.Contains(err.Error(), deadAddr) || !strings.Contains(err.Error(), live.Addr().String()) {
		t.Fatalf("dial: %v (want both addresses named)", err)
	}
	select {
	case <-accepted:
	case <-ctx.Done():
		t.Fatal("the second address was not tried")
	}
}

func testBundle(t *testing.T) *Bundle {
	t.Helper()
	b, _ := testBundleCA(t)
	return b
}

// testBundleCA is testBundle and the CA that issued it (for a node's
// server certificate).
func testBundleCA(t *testing.T) (*Bundle, *devca.CA) {
	t.Helper()
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := "UV" + strings.Repeat("0", 31) + "1"
	cert, key, err := ca.IssueDevice(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &Bundle{Version: BundleVersion, DeviceSid: id, CloudAddress: "127.0.0.1:1",
		CloudCA: string(ca.CertPEM()), Certificate: string(cert), PrivateKey: string(key)}, ca
}

// tarpit is a node that accepts TCP and then says nothing (no TLS).
type tarpit struct {
	ln       net.Listener
	accepted chan net.Conn
}

func newTarpit(t *testing.T) *tarpit {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tarpit{ln: ln, accepted: make(chan net.Conn, 16)}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			tp.accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return tp
}

// acceptedBefore counts the connections the tarpit accepted before a
// marker connection the test makes now (accepts are in arrival order),
// consuming them from tp.accepted.
func (tp *tarpit) acceptedBefore(t *testing.T) int {
	t.Helper()
	m, err := net.Dial("tcp", tp.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n := 0
	for c := range tp.accepted {
		if c.RemoteAddr().String() == m.LocalAddr().String() {
			return n
		}
		n++
	}
	return n
}

// tlsNode is a node that completes the device's TLS handshake and then
// does what serve says, counting the links it accepted.
func tlsNode(t *testing.T, ca *devca.CA, serve func(c *tls.Conn)) (addr string, accepted chan struct{}) {
	t.Helper()
	cert, err := ca.ServerCertificate("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", link.ServerTLSConfig(cert, ca.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if tc.Handshake() != nil {
				tc.Close()
				continue
			}
			accepted <- struct{}{}
			go serve(tc)
		}
	}()
	return ln.Addr().String(), accepted
}

// sendFrame writes f on c.
func sendFrame(c net.Conn, f *link.Frame) {
	b, err := link.AppendFrame(nil, f)
	if err == nil {
		_, _ = c.Write(b)
	}
}

// welcoming serves a WELCOME and keeps the link until the device closes.
func welcoming(c *tls.Conn) {
	defer c.Close()
	sendFrame(c, &link.Frame{Type: link.FrameWelcome, Version: link.Version})
	_, _ = io.Copy(io.Discard, c)
}

// firstFrameType reads the first frame's type from a dialled link, or
// fails with the read error.
func firstFrameType(c net.Conn) (link.FrameType, error) {
	var h [5]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return 0, err
	}
	return link.FrameType(h[4]), nil
}

// TestDialTarpitShare: a first address that accepts TCP and then never
// answers does not use up the whole dial: with a deadline shorter than
// DialAttemptTimeout the second address is still tried and answers.
// Before the fix the first attempt took the whole deadline.
func TestDialTarpitShare(t *testing.T) {
	b, ca := testBundleCA(t)
	tp := newTarpit(t)
	live, _ := tlsNode(t, ca, welcoming)
	b.CloudAddresses = []string{tp.ln.Addr().String(), live}
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	// Under DialAttemptTimeout: before the fix the tarpit took it all.
	ctx, cancel := context.WithTimeout(context.Background(), DialAttemptTimeout*9/10)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		t.Fatalf("dial with a tarpit first: %v (want the second address)", err)
	}
	defer c.Close()
	if ft, err := firstFrameType(c); err != nil || ft != link.FrameWelcome {
		t.Fatalf("first frame %v, %v: want the live node's WELCOME", ft, err)
	}
}

// TestDialRemembersFailure: a call that ends on the first address (its
// context cancelled while the tarpit holds it) makes the next call start
// with the second address, not the dead one again.
func TestDialRemembersFailure(t *testing.T) {
	b, ca := testBundleCA(t)
	tp := newTarpit(t)
	live, liveAccepted := tlsNode(t, ca, welcoming)
	b.CloudAddresses = []string{tp.ln.Addr().String(), live}
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		c, err := dial(ctx)
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	deadline := time.After(time.Minute)
	select {
	case <-tp.accepted: // the first call is in the tarpit
	case <-deadline:
		t.Fatal("the tarpit was not dialled")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("first call: %v, want it cancelled", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	go func() {
		c, err := dial(ctx2)
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("second call: %v", err)
		}
	case <-tp.accepted:
		t.Fatal("the second call started with the address that failed")
	}
	select {
	case <-liveAccepted:
	case <-ctx2.Done():
		t.Fatal("the second call did not reach the live node")
	}
	if n := tp.acceptedBefore(t); n != 0 {
		t.Fatalf("the tarpit got %d more connections", n)
	}
}

// TestDialPassesOverRefusingNode: a node that completes TLS and then
// refuses the link (CONTROL ERROR and close, as when its store is
// unreachable) or just closes does not keep the device: the next call
// starts with the next address; a node that sent WELCOME is kept.
func TestDialPassesOverRefusingNode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(c *tls.Conn)
	}{
		{"control-error", func(c *tls.Conn) {
			sendFrame(c, &link.Frame{Type: link.FrameControl, Kind: link.ControlError, Payload: []byte("store unreachable")})
			c.Close()
		}},
		{"close", func(c *tls.Conn) { c.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ca := testBundleCA(t)
			bad, badAccepted := tlsNode(t, ca, tc.serve)
			good, goodAccepted := tlsNode(t, ca, welcoming)
			b.CloudAddresses = []string{bad, good}
			dial, err := b.Dial()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := dial(ctx)
			if err != nil {
				t.Fatal(err)
			}
			<-badAccepted
			if ft, err := firstFrameType(c); err == nil && ft == link.FrameWelcome {
				t.Fatal("the refusing node sent WELCOME")
			}
			c.Close()
			for call := 2; call <= 4; call++ { // then the welcoming node, every time
				c, err := dial(ctx)
				if err != nil {
					t.Fatalf("call %d: %v", call, err)
				}
				ft, err := firstFrameType(c)
				c.Close()
				if err != nil || ft != link.FrameWelcome {
					t.Fatalf("call %d reached the refusing node again (%v, %v)", call, ft, err)
				}
				<-goodAccepted
			}
		})
	}
}
