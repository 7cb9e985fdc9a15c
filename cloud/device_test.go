package cloud_test

// End-to-end checks with the real kernel (package device) on the other end
// of the link: what docs/fault-injection.md says a device sees.

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/device"
)

func deviceSetup(t *testing.T, h http.HandlerFunc) (*cloud.Server, *device.Device, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	s, err := cloud.New(cloud.Options{HTTP: httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RootCAs:       []*x509.Certificate{srv.Certificate()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	d, err := device.New(device.Options{
		DeviceID:          fakedev.ID(42),
		Dial:              s.Dial,
		ReconnectDelay:    time.Millisecond,
		MaxReconnectDelay: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return s, d, srv
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), fakedev.Wait)
	t.Cleanup(cancel)
	return ctx
}

func TestDeviceHTTP(t *testing.T) {
	_, d, srv := deviceSetup(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello device")
	})
	ctx := ctxT(t)
	n, err := d.Connect(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.HTTP(ctx, n, device.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000}, 1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 || string(resp.Body) != "hello device" {
		t.Fatalf("response %+v", resp)
	}
}

func TestDeviceSeesFaults(t *testing.T) {
	s, d, _ := deviceSetup(t, func(w http.ResponseWriter, r *http.Request) {})
	ctx := ctxT(t)
	n, err := d.Connect(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	open := func(tag uint32) *device.Channel {
		t.Helper()
		ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: n.Centre, Tag: tag, Network: n.Handle, Type: abi.ChannelTypeHTTP, RxSize: 512, TxSize: 512})
		if err != nil || st != abi.StatusOkay {
			t.Fatalf("open: %v %v", st, err)
		}
		// Wait until the cloud has the channel.
		eventually(t, "the channel to reach the cloud", func() bool {
			devs := s.Devices()
			if len(devs) != 1 {
				return false
			}
			for _, c := range devs[0].Channels {
				if c.Chan == ch.Handle {
					return true
				}
			}
			return false
		})
		return ch
	}
	wantClosed := func(ch *device.Channel, tag uint32, want abi.ClosureReason) {
		t.Helper()
		if _, err := n.Centre.WaitFor(ctx, tag, abi.EventTypeChannelNotConnected); err != nil {
			t.Fatal(err)
		}
		if r, st := d.GetChannelClosureReason(ch); st != abi.StatusOkay || r != want {
			t.Fatalf("closure reason %v (%v), want %v", r, st, want)
		}
		d.CloseChannel(ch)
	}

	// CloseChannel and ResetChannel.
	ch := open(1)
	if err := s.Faults().CloseChannel(d.ID(), ch.Handle); err != nil {
		t.Fatal(err)
	}
	wantClosed(ch, 1, abi.ClosureReasonChannelClosedByServer)
	ch = open(2)
	if err := s.Faults().ResetChannel(d.ID(), ch.Handle); err != nil {
		t.Fatal(err)
	}
	wantClosed(ch, 2, abi.ClosureReasonChannelResetByServer)

	// DropLink: channels are disconnected, the network goes CONNECTING and
	// stays there until RestoreLink.
	ch = open(3)
	if err := s.Faults().DropLink(d.ID()); err != nil {
		t.Fatal(err)
	}
	wantClosed(ch, 3, abi.ClosureReasonConnectionTerminated)
	if st, _ := d.GetNetworkStatus(n.Handle); st != abi.NetworkStatusConnecting {
		t.Fatalf("network %v after DropLink, want CONNECTING", st)
	}
	if err := s.Faults().RestoreLink(d.ID()); err != nil {
		t.Fatal(err)
	}
	for {
		if st, _ := d.GetNetworkStatus(n.Handle); st == abi.NetworkStatusConnected {
			break
		}
		if _, err := n.Centre.Wait(ctx); err != nil {
			t.Fatalf("network did not come back: %v", err)
		}
	}
}

// TestDeviceBufferOverCloudMaximum: the kernel accepts any multiple of 512,
// the cloud only up to its MaxChannelBuffer; over it the application sees
// its channel closed, reason UNEXPECTEDLYTERMINATED, and may open a smaller
// one.
func TestDeviceBufferOverCloudMaximum(t *testing.T) {
	s, err := cloud.New(cloud.Options{MaxChannelBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	d, err := device.New(device.Options{DeviceID: fakedev.ID(43), Dial: s.Dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx := ctxT(t)
	n, err := d.Connect(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: n.Centre, Tag: 1, Network: n.Handle, Type: abi.ChannelTypeHTTP, RxSize: 8192, TxSize: 512})
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("open: %v %v", st, err)
	}
	if _, err := n.Centre.WaitFor(ctx, 1, abi.EventTypeChannelNotConnected); err != nil {
		t.Fatal(err)
	}
	if r, st := d.GetChannelClosureReason(ch); st != abi.StatusOkay || r != abi.ClosureReasonUnexpectedlyTerminated {
		t.Fatalf("closure reason %v (%v), want UNEXPECTEDLYTERMINATED", r, st)
	}
	d.CloseChannel(ch)
	ch, st, err = d.OpenChannel(device.ChannelConfig{Centre: n.Centre, Tag: 2, Network: n.Handle, Type: abi.ChannelTypeOpaqueBytes, RxSize: 4096, TxSize: 4096})
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("open: %v %v", st, err)
	}
	eventually(t, "the channel to reach the cloud", func() bool {
		devs := s.Devices()
		return len(devs) == 1 && len(devs[0].Channels) == 1 && devs[0].Channels[0].Chan == ch.Handle
	})
}
