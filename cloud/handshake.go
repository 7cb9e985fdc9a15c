package cloud

// A link's handshake: what the cloud does with a connection before it
// becomes a session. Everything here is bounded, because it is what anyone
// who can reach the device listener (or who holds one valid certificate)
// can make the cloud do:
//
//   - time: the TLS handshake and the HELLO frame must both arrive within
//     Options.HandshakeTimeout;
//   - memory: the first frame must be a HELLO, and a HELLO has one of two
//     sizes (helloFrameLen, or helloVirtualFrameLen with the virtual-clock
//     flag and the device's time), so the cloud reads at most 4+46 bytes
//     and never allocates what a length prefix announces before HELLO;
//   - concurrency: at most Options.MaxHandshakes TLS links are handshaking
//     at once; Serve takes a slot before it accepts, so devices beyond it
//     wait in the kernel's accept queue, costing the cloud nothing, instead
//     of all sharing the CPU and timing out together (the reconnect
//     stampede, BenchmarkStampede);
//   - slots per client: a connection that sends nothing gives its slot
//     back after Options.ClientHelloTimeout (2 s: the first TLS record must
//     have arrived), and one remote address holds at most
//     Options.MaxHandshakesPerIP slots (16), so clients that open
//     connections and stay silent cannot keep every device out;
//   - links per certificate: one handshaking and one established link per
//     device. A newer handshake with the same certificate closes an older
//     one still waiting for its HELLO, and a HELLO closes the device's
//     established link (Server.register): the newest link wins.
//
// With Options.Registry, a certificate whose device is not registered
// (deleted) is refused right after the TLS handshake with CONTROL ERROR,
// and checked again at HELLO (register), so that a deletion racing with a
// handshake cannot let the device in.

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mvnet/mvnet/link"
)

// Defaults of Options.MaxHandshakes, Options.MaxHandshakesPerIP (for
// non-loopback addresses) and Options.ClientHelloTimeout. MaxHandshakes
// defaults to HandshakesPerCPU for each CPU Go may use (GOMAXPROCS), and at
// least DefaultMaxHandshakes.
//
// Chosen by measurement with BenchmarkStampede (500 devices at once, the
// handshake timeout scaled to 1 s; 2 CPUs):
//
//	go test ./cloud -run '^$' -bench Stampede -benchtime 2x -args -stampede.max 1,2,4,8,16,32,128,256
//	go test ./cloud -run '^$' -bench Stampede -benchtime 1x -args -stampede.devices 200 -stampede.latency 100ms -stampede.max 4,16,128
//
// On loopback every cap from 1 to 64 connected the stampede as fast as
// paced (at-once/paced 0.8–1.3, no redial), 128 began to time
// handshakes out (9.5 redials), 256 more (45.5), none at all 368: a cap
// protects by bounding the CPU each handshake shares, so it scales with
// the CPUs. With a 100 ms round trip (real devices; a handshake then
// holds its slot for the round trip, not for CPU) 200 devices took 10.8 s
// at 4, 2.9 s at 16, 1.1 s at 64, 1.25 s at 128 and 0.73 s without a cap:
// a cap derived from GOMAXPROCS alone (2–8 here) would starve a real
// fleet, so the cap is 32 per CPU but never under 64.
const (
	DefaultMaxHandshakes      = 64
	HandshakesPerCPU          = 32
	DefaultMaxHandshakesPerIP = 16
	DefaultClientHelloTimeout = 2 * time.Second
)

// defaultMaxHandshakes is Options.MaxHandshakes' default on this machine.
func defaultMaxHandshakes() int {
	return max(DefaultMaxHandshakes, HandshakesPerCPU*runtime.GOMAXPROCS(0))
}

// The TLS record layer (RFC 8446 §5.1): a record is type u8 | version u16 |
// length u16 | fragment, the ClientHello comes in a handshake record, and
// a plaintext fragment is at most 2^14 bytes.
const (
	tlsRecordHeaderLen = 5
	tlsRecordHandshake = 22
	tlsMaxPlaintext    = 1 << 14
)

// helloFrameLen is the length prefix of a HELLO without flags (link/doc.go:
// type u8 | version u16 | device_id [link.DeviceIDLen]byte), and
// helloVirtualFrameLen that of one with them (| flags u8 | now_us u64:
// a device on a virtual clock, link/doc.go "Virtual time"), computed from
// the link's own encoder.
var (
	helloFrameLen        = helloLen(0)
	helloVirtualFrameLen = helloLen(link.HelloVirtualClock)
)

func helloLen(flags uint8) uint32 {
	b, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameHello, DeviceID: strings.Repeat("0", link.DeviceIDLen), Flags: flags})
	if err != nil {
		panic(err)
	}
	return uint32(len(b) - 4)
}

// ErrNotRegistered refuses a device the Registry does not know (never
// registered, or deleted).
var ErrNotRegistered = errors.New("cloud: device not registered")

// ErrRegistryFailed refuses a device because the Registry could not say
// whether it is registered (e.g. the store is unreachable); the device's
// established link, if any, is kept.
var ErrRegistryFailed = errors.New("cloud: device registry failed")

// Registry is the device registry (*store.Store satisfies it). With one,
// the cloud admits only registered devices and drops a device's link when
// the device is deleted.
type Registry interface {
	// DeviceRegistered reports whether deviceID is registered; err is for
	// the registry failing (the new link is then refused, ErrRegistryFailed,
	// but an established link of the device is not dropped).
	DeviceRegistered(ctx context.Context, deviceID string) (bool, error)
	// WatchDeletedDevices calls fn for every device deleted from now on,
	// until ctx ends; it returns once the watch is in place.
	WatchDeletedDevices(ctx context.Context, fn func(deviceID string)) error
}

// acquireHandshake takes a handshake slot, or fails when the server shuts
// down.
func (s *Server) acquireHandshake() error {
	select {
	case s.hsSlots <- struct{}{}:
		return nil
	case <-s.ctx.Done():
		return ErrShutdown
	}
}

// releaseHandshake gives back a slot acquireHandshake took.
func (s *Server) releaseHandshake() { <-s.hsSlots }

// admit starts the handshake of c, accepted by Serve with a slot it
// acquired, unless c's remote address already has MaxHandshakesPerIP links
// handshaking: then it gives the slot back and fails. It returns the func
// that ends the handshake (once), giving back the slot.
func (s *Server) admit(c net.Conn) (func(), error) {
	var ip netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr().Unmap()
	}
	limit := s.maxPerIP
	if limit == 0 && !ip.IsLoopback() {
		limit = DefaultMaxHandshakesPerIP
	}
	s.mu.Lock()
	if ip.IsValid() && limit > 0 && s.hsByIP[ip] >= limit {
		s.mu.Unlock()
		s.releaseHandshake()
		return nil, fmt.Errorf("cloud: link from %v: %d links from %v are handshaking already (MaxHandshakesPerIP)", c.RemoteAddr(), limit, ip)
	}
	if ip.IsValid() {
		s.hsByIP[ip]++
	}
	s.mu.Unlock()
	s.hsNow.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			if ip.IsValid() {
				s.mu.Lock()
				if s.hsByIP[ip]--; s.hsByIP[ip] == 0 {
					delete(s.hsByIP, ip)
				}
				s.mu.Unlock()
			}
			s.hsNow.Add(-1)
			s.releaseHandshake()
		})
	}, nil
}

// readClientHello waits at most timeout for the first TLS record from c,
// the ClientHello, and returns c with the record read again first. A
// connection that sends no (or not a whole) record in time is done: it
// gives its handshake slot back well before HandshakeTimeout.
func readClientHello(c net.Conn, timeout time.Duration) (net.Conn, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	b := make([]byte, tlsRecordHeaderLen, tlsRecordHeaderLen+512)
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, fmt.Errorf("cloud: link from %v: waiting for the TLS ClientHello: %w", c.RemoteAddr(), err)
	}
	// Not a handshake record: the TLS handshake refuses it (with an
	// alert), having read these bytes again.
	if n := int(binary.BigEndian.Uint16(b[3:])); b[0] == tlsRecordHandshake && n <= tlsMaxPlaintext {
		b = append(b, make([]byte, n)...)
		if _, err := io.ReadFull(c, b[tlsRecordHeaderLen:]); err != nil {
			return nil, fmt.Errorf("cloud: link from %v: reading the TLS ClientHello: %w", c.RemoteAddr(), err)
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return &replayConn{Conn: c, pre: b}, nil
}

// handshake runs c's handshake (see the top of this file) and returns the
// device its certificate names ("" for a connection without TLS) and the
// connection to run the session on, which replays the HELLO frame read
// here. slot, if not nil, ends the handshake Serve admitted c to; without
// one, a TLS link takes a slot here. On error c is closed.
func (s *Server) handshake(c net.Conn, slot func()) (string, net.Conn, error) {
	tc, isTLS := c.(*tls.Conn)
	if isTLS && slot == nil {
		if err := s.acquireHandshake(); err != nil {
			_ = c.Close()
			return "", nil, err
		}
		s.hsNow.Add(1)
		slot = func() {
			s.hsNow.Add(-1)
			s.releaseHandshake()
		}
	}
	if slot != nil {
		defer slot()
	}
	_ = c.SetDeadline(time.Now().Add(s.hsTime))
	certID, err := s.authenticate(tc)
	if err != nil {
		_ = c.Close()
		return "", nil, err
	}
	if certID != "" {
		s.mu.Lock()
		older := s.pending[certID]
		s.pending[certID] = c
		s.mu.Unlock()
		if older != nil {
			s.log.Debug("device handshaking again: closing its older handshake", "device", certID)
			_ = older.Close()
		}
		defer func() {
			s.mu.Lock()
			if s.pending[certID] == c {
				delete(s.pending, certID)
			}
			s.mu.Unlock()
		}()
		if err := s.checkRegistered(certID); err != nil {
			refuse(c, err.Error())
			return "", nil, fmt.Errorf("cloud: link from %v: %w", c.RemoteAddr(), err)
		}
	}
	hello, err := readHello(c)
	if err != nil {
		if errors.Is(err, link.ErrMalformed) {
			refuse(c, err.Error())
		} else {
			_ = c.Close()
		}
		return "", nil, fmt.Errorf("cloud: link from %v: %w", c.RemoteAddr(), err)
	}
	_ = c.SetDeadline(time.Time{})
	return certID, &replayConn{Conn: c, pre: hello}, nil
}

// authenticate handshakes tc and returns the device its verified
// certificate names; "" when tc is nil (a connection without TLS).
func (s *Server) authenticate(tc *tls.Conn) (string, error) {
	if tc == nil {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.hsTime)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return "", fmt.Errorf("cloud: TLS handshake with %v: %w", tc.RemoteAddr(), err)
	}
	id, err := link.PeerDeviceID(tc.ConnectionState())
	if err != nil {
		return "", fmt.Errorf("cloud: link from %v: %w", tc.RemoteAddr(), err)
	}
	return id, nil
}

// checkRegistered asks the Registry (if any) whether id may connect.
func (s *Server) checkRegistered(id string) error {
	if s.registry == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.hsTime)
	defer cancel()
	ok, err := s.registry.DeviceRegistered(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("%w: device %s: %v", ErrRegistryFailed, id, err)
	case !ok:
		return fmt.Errorf("%w: device %s is not registered with this cloud (deleted?)", ErrNotRegistered, id)
	}
	return nil
}

// readHello reads the first frame, which must be a HELLO: the length prefix
// and type byte first, so that a wrong one is refused having read 5 bytes,
// then the rest of the frame, of one of HELLO's two sizes. Its syntax and
// contents are the session's to check.
func readHello(c net.Conn) ([]byte, error) {
	b := make([]byte, 4+max(helloFrameLen, helloVirtualFrameLen))
	if _, err := io.ReadFull(c, b[:5]); err != nil {
		return nil, fmt.Errorf("waiting for HELLO: %w", err)
	}
	n := binary.BigEndian.Uint32(b)
	if t := link.FrameType(b[4]); n != helloFrameLen && n != helloVirtualFrameLen || t != link.FrameHello {
		return nil, fmt.Errorf("%w: first frame is %v of %d bytes, want HELLO of %d or %d", link.ErrMalformed, t, n, helloFrameLen, helloVirtualFrameLen)
	}
	b = b[:4+n]
	if _, err := io.ReadFull(c, b[5:]); err != nil {
		return nil, fmt.Errorf("reading HELLO: %w", err)
	}
	return b, nil
}

// refuse sends CONTROL ERROR msg (within the handshake's deadline) and
// closes c.
func refuse(c net.Conn, msg string) {
	if f, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameControl, Kind: link.ControlError, Payload: []byte(msg)}); err == nil {
		_, _ = c.Write(f)
	}
	_ = c.Close()
}

// replayConn is a connection some of whose first bytes have been read (the
// TLS ClientHello, the HELLO frame): Read returns them again first.
type replayConn struct {
	net.Conn
	pre []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// DropDevice closes deviceID's links, established or handshaking, and
// reports whether it had one. The cloud calls it when the Registry reports
// the device deleted; an embedder without a Registry may call it itself.
func (s *Server) DropDevice(deviceID string) bool {
	s.mu.Lock()
	sess := s.byID[deviceID]
	pend := s.pending[deviceID]
	s.mu.Unlock()
	if sess != nil {
		s.log.Info("device deleted: dropping its link", "device", deviceID)
		sess.Close()
	}
	if pend != nil {
		_ = pend.Close()
	}
	return sess != nil || pend != nil
}

// Handshakes is how many TLS links are handshaking now (at most
// Options.MaxHandshakes): accepted or handed to ServeConn, not yet past
// HELLO (or refused).
func (s *Server) Handshakes() int { return int(s.hsNow.Load()) }
