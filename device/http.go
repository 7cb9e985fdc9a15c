package device

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/mvnet/mvnet/abi"
)

// HTTPRequest is an HTTP request as an application builds it. Headers are
// "Name: value" strings.
type HTTPRequest struct {
	Method    string
	URL       string
	Headers   []string
	Body      []byte
	TimeoutMS uint32
}

// SendHTTPRequest marshals req into application memory and calls
// mvSendHttpRequest.
func (d *Device) SendHTTPRequest(ch *Channel, req HTTPRequest) (abi.Status, error) {
	return d.with(func(s *scratch) abi.Status {
		var hdrs []abi.HTTPHeader
		for _, h := range req.Headers {
			ss := s.str(h)
			hdrs = append(hdrs, abi.HTTPHeader{Length: ss.Length, Data: ss.Data})
		}
		var harr = s.alloc(uint64(len(hdrs)) * uint64(d.ABI.Struct("MvHttpHeader").Size()))
		if len(hdrs) > 0 {
			_ = d.ABI.WriteHTTPHeaders(d.Arena, harr, hdrs)
		}
		rp := s.alloc(uint64(d.ABI.Struct("MvHttpRequest").Size()))
		_ = d.ABI.WriteHTTPRequest(d.Arena, rp, abi.HTTPRequest{
			Method: s.str(req.Method), URL: s.str(req.URL), NumHeaders: uint32(len(hdrs)), Headers: harr,
			Body: abi.SizedString{Data: s.bytes(req.Body), Length: uint32(len(req.Body))}, TimeoutMS: req.TimeoutMS,
		})
		return d.call("mvSendHttpRequest", func() abi.Status { return d.Kernel.SendHTTPRequest(ch.Handle, rp) }, nil,
			func() string {
				return fmt.Sprintf("handle=%#x %s %s headers=%d body=%d timeout_ms=%d", ch.Handle, req.Method, req.URL, len(hdrs), len(req.Body), req.TimeoutMS)
			})
	})
}

// ReadHTTPResponseData is mvReadHttpResponseData.
func (d *Device) ReadHTTPResponseData(ch *Channel) (abi.HTTPResponseData, abi.Status) {
	var v abi.HTTPResponseData
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(16)
		st := d.call("mvReadHttpResponseData", func() abi.Status { return d.Kernel.ReadHTTPResponseData(ch.Handle, p) }, func() string {
			v, _ := d.ABI.ReadHTTPResponseData(d.Arena, p)
			return fmt.Sprintf("result=%s status_code=%d num_headers=%d body_length=%d", v.Result, v.StatusCode, v.NumHeaders, v.BodyLength)
		}, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		v, _ = d.ABI.ReadHTTPResponseData(d.Arena, p)
		return st
	})
	return v, st
}

// ReadHTTPResponseHeader is mvReadHttpResponseHeader with a buffer of size
// bytes; the returned string is what the kernel copied (up to the first NUL
// the buffer was pre-filled with, as C callers rely on).
func (d *Device) ReadHTTPResponseHeader(ch *Channel, index, size uint32) (string, abi.Status) {
	var out string
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(uint64(size) + 1)
		st := d.call("mvReadHttpResponseHeader", func() abi.Status { return d.Kernel.ReadHTTPResponseHeader(ch.Handle, index, p, size) },
			func() string { b, _ := d.Arena.Bytes(p, uint64(size)); return fmt.Sprintf("%q", cstring(b)) },
			func() string { return fmt.Sprintf("handle=%#x index=%d size=%d", ch.Handle, index, size) })
		b := s.hostBytes(int(size))
		_ = d.Arena.Load(b, p)
		out = cstring(b)
		return st
	})
	return out, st
}

// ReadHTTPResponseBody is mvReadHttpResponseBody into a zeroed buffer of
// size bytes; it returns the whole buffer (the kernel copies
// min(size, body_length − offset) bytes and leaves the rest untouched).
func (d *Device) ReadHTTPResponseBody(ch *Channel, offset, size uint32) ([]byte, abi.Status, error) {
	var out []byte
	st, err := d.with(func(s *scratch) abi.Status {
		p := s.alloc(uint64(size))
		st := d.call("mvReadHttpResponseBody", func() abi.Status { return d.Kernel.ReadHTTPResponseBody(ch.Handle, offset, p, size) },
			func() string { b, _ := d.Arena.Bytes(p, uint64(min(size, 40))); return fmt.Sprintf("%q…", b) },
			func() string { return fmt.Sprintf("handle=%#x offset=%d size=%d", ch.Handle, offset, size) })
		out = make([]byte, size)
		_ = d.Arena.Load(out, p)
		return st
	})
	return out, st, err
}

const headerProbeSize = 256

// HTTPResponse is what HTTP returns.
type HTTPResponse struct {
	Result     abi.HTTPResult
	StatusCode uint32
	Headers    []string
	Body       []byte
	// Diagnostic is the cloud's reason when the request failed (not part
	// of the application ABI; see Device.ChannelDiagnostic).
	Diagnostic string
}

// Net is a notification centre with a connected network handle: what an
// application sets up once before opening channels.
type Net struct {
	Centre  *Centre
	Handle  uint32
	nextTag atomic.Uint32
}

// Connect sets up a notification centre on irq, requests the network and
// waits until it is CONNECTED.
func (d *Device) Connect(ctx context.Context, irq uint32) (*Net, error) {
	c, st, err := d.SetupNotifications(irq, 16)
	if err != nil {
		return nil, err
	}
	if st != abi.StatusOkay {
		return nil, fmt.Errorf("mvSetupNotifications: %s", st)
	}
	const tag = 0x4e4554 // "NET"
	h, st := d.RequestNetwork(c, tag)
	if st != abi.StatusOkay {
		return nil, fmt.Errorf("mvRequestNetwork: %s", st)
	}
	for {
		ns, st := d.GetNetworkStatus(h)
		if st != abi.StatusOkay {
			return nil, fmt.Errorf("mvGetNetworkStatus: %s", st)
		}
		if ns == abi.NetworkStatusConnected {
			n := &Net{Centre: c, Handle: h}
			n.nextTag.Store(tag)
			return n, nil
		}
		if _, err := c.WaitFor(ctx, tag, abi.EventTypeNetworkStatusChanged); err != nil {
			return nil, fmt.Errorf("network did not connect: %w", err)
		}
	}
}

// Release releases the network and closes the centre.
func (d *Device) Release(n *Net) error {
	if st := d.ReleaseNetwork(n.Handle); st != abi.StatusOkay {
		return fmt.Errorf("mvReleaseNetwork: %s", st)
	}
	if st := d.CloseNotifications(n.Centre); st != abi.StatusOkay {
		return fmt.Errorf("mvCloseNotifications: %s", st)
	}
	return nil
}

// HTTP performs one request the way a Microvisor application does: open an
// HTTP channel with the given buffer sizes (multiples of 512), send, wait
// for CHANNELDATAREADABLE, read the status, every header and the body, and
// close the channel. Other notifications arriving on n's centre meanwhile
// are left for their own waiters, so several goroutines may share n. A
// non-OKAY status from any call is returned as an error.
func (d *Device) HTTP(ctx context.Context, n *Net, req HTTPRequest, rxSize, txSize uint32) (*HTTPResponse, error) {
	tag := n.nextTag.Add(1) // distinct from the network's own tag
	ch, st, err := d.OpenChannel(ChannelConfig{Centre: n.Centre, Tag: tag, Network: n.Handle, Type: abi.ChannelTypeHTTP, RxSize: rxSize, TxSize: txSize})
	if err != nil {
		return nil, err
	}
	if st != abi.StatusOkay {
		return nil, fmt.Errorf("mvOpenChannel: %s", st)
	}
	defer d.CloseChannel(ch)
	if st, err := d.SendHTTPRequest(ch, req); err != nil || st != abi.StatusOkay {
		return nil, fmt.Errorf("mvSendHttpRequest: %s %v", st, err)
	}
	for {
		nt, err := n.Centre.WaitTag(ctx, tag)
		if err != nil {
			return nil, err
		}
		if nt.EventType == abi.EventTypeChannelNotConnected {
			r, _ := d.GetChannelClosureReason(ch)
			return nil, fmt.Errorf("channel not connected: %s", r)
		}
		if nt.EventType == abi.EventTypeChannelDataReadable {
			break
		}
	}
	data, st := d.ReadHTTPResponseData(ch)
	if st != abi.StatusOkay {
		return nil, fmt.Errorf("mvReadHttpResponseData: %s", st)
	}
	resp := &HTTPResponse{Result: data.Result, StatusCode: data.StatusCode, Diagnostic: d.ChannelDiagnostic(ch)}
	if data.NumHeaders > 0 {
		resp.Headers = make([]string, 0, min(data.NumHeaders, abi.MaxHTTPHeaders))
	}
	for i := range data.NumHeaders {
		// Most headers fit a small buffer; one that fills it is read
		// again with room for the whole receive buffer.
		h, st := d.ReadHTTPResponseHeader(ch, i, headerProbeSize)
		if st == abi.StatusOkay && len(h) == headerProbeSize {
			h, st = d.ReadHTTPResponseHeader(ch, i, rxSize)
		}
		if st != abi.StatusOkay {
			return nil, fmt.Errorf("mvReadHttpResponseHeader(%d): %s", i, st)
		}
		resp.Headers = append(resp.Headers, h)
	}
	if data.BodyLength > 0 {
		body, st, err := d.ReadHTTPResponseBody(ch, 0, data.BodyLength)
		if err != nil || st != abi.StatusOkay {
			return nil, fmt.Errorf("mvReadHttpResponseBody: %s %v", st, err)
		}
		resp.Body = body
	}
	return resp, nil
}

// cstring returns b up to its first NUL, as a C caller reading a
// zero-filled buffer would.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
