package test

import (
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/link"
)

// stallingProxy carries each device link through a pair of pipes with a
// forwarder in between that can be told to stop forwarding: the transport
// then stalls — nothing is closed, bytes simply stop moving, as when a NAT
// forgets the flow. It serves the cloud's end with ServeConn so the test
// sees how each cloud session ended. A redial waits until the cloud's
// session of link 1 has ended, so that each side notices the stall by its
// own keep-alive, whichever timer fires first (the device's new link would
// otherwise replace the cloud's session).
type stallingProxy struct {
	srv       *cloud.Server
	ended     chan error    // ServeConn's result, one per link
	firstDone chan struct{} // closed when link 1's ServeConn returned

	mu      sync.Mutex
	links   int
	stalled chan struct{} // closed to stall link 1
	release chan struct{} // closed at the end of the test
}

func newStallingProxy(t *testing.T, srv *cloud.Server) *stallingProxy {
	p := &stallingProxy{srv: srv, ended: make(chan error, 16), firstDone: make(chan struct{}),
		stalled: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(p.release) })
	return p
}

func (p *stallingProxy) dial(ctx context.Context) (net.Conn, error) {
	p.mu.Lock()
	p.links++
	first := p.links == 1
	p.mu.Unlock()
	if !first {
		select {
		case <-p.firstDone:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	devEnd, proxyDev := net.Pipe()
	proxyCloud, cloudEnd := net.Pipe()
	go func() {
		err := p.srv.ServeConn(cloudEnd)
		p.ended <- err
		if first {
			close(p.firstDone)
		}
	}()
	var stall <-chan struct{}
	if first {
		stall = p.stalled
	}
	go p.forward(proxyCloud, proxyDev, stall)
	go p.forward(proxyDev, proxyCloud, stall)
	return devEnd, nil
}

// forward copies src to dst until either ends; once stall is closed it
// holds what it read and forwards nothing more, and stops reading.
func (p *stallingProxy) forward(dst, src net.Conn, stall <-chan struct{}) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		select {
		case <-stall:
			<-p.release // stalled: neither closed nor forwarding
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// TestStalledLinkDetectedAndRedialled is issue 8's stall: the link stops
// carrying bytes without closing. The cloud notices (its session ends with
// the keep-alive's timeout), the device notices (its link error says so),
// the device redials, and the log lines it buffered meanwhile are stored
// exactly once.
func TestStalledLinkDetectedAndRedialled(t *testing.T) {
	st := newMemStore()
	// Each side detects the stall by its own keep-alive, in either order
	// (the proxy holds the device's redial until the cloud's session of
	// the stalled link ended). The timeouts leave a healthy link on a
	// loaded machine room for late PINGs.
	const ping, idle = 50 * time.Millisecond, 2 * time.Second
	srv := testenv.NewCloud(t, cloud.Options{Logs: st, Config: st, PingInterval: ping, IdleTimeout: idle})
	px := newStallingProxy(t, srv)
	linkErrs := make(chan string, 16)
	trace := func(e device.TraceEvent) {
		if e.Kind == "link-error" {
			// Never block the kernel's link goroutine: the first error
			// is the one asserted on.
			select {
			case linkErrs <- e.Text:
			default:
			}
		}
	}
	d := testenv.NewDevice(t, srv, device.Options{DeviceID: devA, Dial: px.dial, Trace: trace, PingInterval: ping, IdleTimeout: idle})
	ctx := testenv.Context(t, 60*time.Second)
	if _, err := d.Connect(ctx, irq); err != nil {
		t.Fatal(err)
	}
	if _, s, err := d.ServerLoggingInit(4096); err != nil || s != abi.StatusOkay {
		t.Fatalf("mvServerLoggingInit: %v %v", s, err)
	}
	logLine := func(s string) {
		t.Helper()
		if st, err := d.ServerLog(s); err != nil || st != abi.StatusOkay {
			t.Fatalf("mvServerLog(%q): %v %v", s, st, err)
		}
	}
	logLine("before the stall")
	eventually(t, "the first line stored", func() bool { return len(st.logged(devA)) == 1 })

	close(px.stalled)
	logLine("during the stall 1")
	logLine("during the stall 2")

	select {
	case err := <-px.ended:
		if !errors.Is(err, link.ErrTimeout) {
			t.Fatalf("the cloud's session of the stalled link ended with %v, want the keep-alive timeout", err)
		}
	case <-ctx.Done():
		t.Fatal("the cloud never noticed the stalled link")
	}
	select {
	case text := <-linkErrs:
		if !strings.Contains(text, "link lost") || !strings.Contains(text, "keep-alive") {
			t.Fatalf("the device's link error is %q, want the keep-alive's", text)
		}
	case <-ctx.Done():
		t.Fatal("the device never noticed the stalled link")
	}
	want := []string{"before the stall", "during the stall 1", "during the stall 2"}
	eventually(t, "the buffered lines stored after the redial", func() bool { return len(st.logged(devA)) >= len(want) })
	logLine("after")
	want = append(want, "after")
	eventually(t, "the new line stored", func() bool { return len(st.logged(devA)) >= len(want) })
	if got := st.logged(devA); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %q, want %q (each exactly once)", got, want)
	}
	if !d.Kernel.LinkUp() {
		t.Fatal("link not up after the redial")
	}
}
