package kernel_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// httpRequest places the strings and header array of r in SRAM and returns
// the MvHttpRequest fields pointing at them (not yet written).
func (h *harness) httpRequest(r link.HTTPRequest) abi.HTTPRequest {
	h.t.Helper()
	v := abi.HTTPRequest{
		Method: h.str(r.Method), URL: h.str(r.URL), NumHeaders: uint32(len(r.Headers)),
		Body: abi.SizedString{Data: h.place(r.Body), Length: uint32(len(r.Body))}, TimeoutMS: r.TimeoutMS,
	}
	if len(r.Headers) > 0 {
		hs := make([]abi.HTTPHeader, len(r.Headers))
		for i, s := range r.Headers {
			hs[i] = abi.HTTPHeader{Length: uint32(len(s)), Data: h.place([]byte(s))}
		}
		v.Headers = h.alloc(uint64(8*len(hs)), 4)
		if err := abi.Device.WriteHTTPHeaders(h.a, v.Headers, hs); err != nil {
			h.t.Fatal(err)
		}
	}
	return v
}

// writeRequest writes v as an MvHttpRequest and returns its address.
func (h *harness) writeRequest(v abi.HTTPRequest) mem.Addr {
	h.t.Helper()
	p := h.alloc(36, 4)
	if err := abi.Device.WriteHTTPRequest(h.a, p, v); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) send(ch *channel, r link.HTTPRequest) abi.Status {
	h.t.Helper()
	return h.k.SendHTTPRequest(ch.handle, h.writeRequest(h.httpRequest(r)))
}

func (h *harness) responseData(ch *channel) abi.HTTPResponseData {
	h.t.Helper()
	out := h.out(16)
	wantStatus(h.t, "mvReadHttpResponseData", h.k.ReadHTTPResponseData(ch.handle, out), abi.StatusOkay)
	d, err := abi.Device.ReadHTTPResponseData(h.a, out)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

var getReq = link.HTTPRequest{Method: "GET", URL: "https://example.com/", TimeoutMS: 10000}

func headerList(n int) []string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = fmt.Sprintf("X-H%02d: v", i)
	}
	return hs
}

func TestSendHTTPRequest(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0x81)
	req := link.HTTPRequest{
		Method: "POST", URL: "https://api.example.com/v1/things?x=1",
		Headers: []string{"Content-Type: application/json", "Accept: */*"},
		Body:    []byte(`{"hello":"world"}`), TimeoutMS: 7500,
	}
	wantStatus(t, "mvSendHttpRequest", h.send(ch, req), abi.StatusOkay)

	// The encoded request is in the send ring …
	ring, n, err := link.ParseHTTPRequest(h.bytes(ch.tx, uint64(ch.txLen)))
	if err != nil || !reflect.DeepEqual(ring, req) {
		t.Fatalf("send ring decodes to %+v (%v), want %+v", ring, err, req)
	}
	if n != link.HTTPRequestSize(&req) {
		t.Fatalf("encoded size %d", n)
	}
	// … and the cloud received the same bytes.
	eventually(t, "request at the cloud", func() bool { return len(h.cloud.data(ch.handle)) >= n })
	got, _, err := link.ParseHTTPRequest(h.cloud.data(ch.handle))
	if err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("cloud decodes %+v (%v), want %+v", got, err, req)
	}
	if !bytes.Equal(h.cloud.data(ch.handle), h.bytes(ch.tx, uint64(n))) {
		t.Fatal("the cloud's bytes differ from the send ring's")
	}

	// One accepted request per channel, whatever its outcome.
	wantStatus(t, "second request", h.send(ch, getReq), abi.StatusRequestAlreadySent)
	h.cloud.sendData(t, ch.handle, link.AppendHTTPResponse(nil, &link.HTTPResponse{Result: uint32(abi.HTTPResultRequestFailed)}))
	c.wait(abi.EventTypeChannelDataReadable, 0x81)
	wantStatus(t, "after the response", h.send(ch, getReq), abi.StatusRequestAlreadySent)

	// A minimal request: no headers, no body, nil pointers of length 0.
	ch2 := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0x82)
	v := h.httpRequest(getReq)
	v.Headers = 0x10 // ignored: num_headers is 0
	wantStatus(t, "via Call", h.call("mvSendHttpRequest", uint64(ch2.handle), uint64(h.writeRequest(v))), abi.StatusOkay)
	eventually(t, "request at the cloud", func() bool { return len(h.cloud.data(ch2.handle)) > 0 })
	if got, _, err := link.ParseHTTPRequest(h.cloud.data(ch2.handle)); err != nil || !reflect.DeepEqual(got, getReq) {
		t.Fatalf("cloud decodes %+v (%v)", got, err)
	}
}

func TestSendHTTPRequestStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	opaque := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x90)
	var cur *channel
	// fresh replaces the previous test channel with a new HTTP channel,
	// keeping under the channel and rate limits.
	fresh := func(txLen uint32) *channel {
		t.Helper()
		if cur != nil {
			h.closeChannel(cur)
		}
		h.clk.advance(time.Second)
		cur = h.open(c, nw, abi.ChannelTypeHTTP, 512, txLen, 0x91)
		return cur
	}
	good := h.writeRequest(h.httpRequest(getReq))

	ch := fresh(512)
	for _, b := range badReadPtrs {
		wantStatus(t, "request "+b.name, h.k.SendHTTPRequest(ch.handle, b.addr), abi.StatusParameterFault)
		wantStatus(t, "request "+b.name+", bad handle", h.k.SendHTTPRequest(0, b.addr), abi.StatusParameterFault)
	}
	wantStatus(t, "request runs off SRAM", h.k.SendHTTPRequest(ch.handle, sramEnd-20), abi.StatusParameterFault)
	// PARAMETERFAULT leaves the channel usable.
	wantStatus(t, "then a good request", h.k.SendHTTPRequest(ch.handle, good), abi.StatusOkay)

	withHeaders := link.HTTPRequest{Method: "GET", URL: "https://example.com/", Headers: []string{"A: 1", "B: 2"}, TimeoutMS: 5000}
	lates := map[string]func(v *abi.HTTPRequest){
		"method":       func(v *abi.HTTPRequest) { v.Method.Data = 0x10 },
		"url":          func(v *abi.HTTPRequest) { v.URL.Data = sramEnd - 4 },
		"body":         func(v *abi.HTTPRequest) { v.Body = abi.SizedString{Data: 0xFFFF_FFF0, Length: 32} },
		"header array": func(v *abi.HTTPRequest) { v.Headers = 0 },
		"header array runs off SRAM": func(v *abi.HTTPRequest) {
			v.Headers = sramEnd - 12 // the second element is past the end
		},
		"header data": func(v *abi.HTTPRequest) {
			_ = abi.Device.WriteHTTPHeaders(h.a, v.Headers+8, []abi.HTTPHeader{{Length: 4, Data: 0x20}})
		},
	}
	for name, mod := range lates {
		t.Run("late "+name, func(t *testing.T) {
			ch := fresh(512)
			v := h.httpRequest(withHeaders)
			mod(&v)
			wantStatus(t, "bad "+name, h.k.SendHTTPRequest(ch.handle, h.writeRequest(v)), abi.StatusLateFault)
			// The channel is unusable afterwards.
			wantStatus(t, "good request after LATEFAULT", h.k.SendHTTPRequest(ch.handle, good), abi.StatusChannelClosed)
			wantStatus(t, "response after LATEFAULT", h.k.ReadHTTPResponseData(ch.handle, h.out(16)), abi.StatusChannelClosed)
			h.cloud.sync(t)
			if n := len(h.cloud.data(ch.handle)); n != 0 {
				t.Fatalf("%d request bytes reached the cloud", n)
			}
		})
	}
	// A LATEFAULT on a channel whose request was already accepted does not
	// disturb that request: its response is awaited and readable.
	t.Run("late after an accepted request", func(t *testing.T) {
		ch := fresh(512)
		wantStatus(t, "send", h.k.SendHTTPRequest(ch.handle, good), abi.StatusOkay)
		v := h.httpRequest(withHeaders)
		v.Body = abi.SizedString{Data: 0x10, Length: 1}
		wantStatus(t, "bad body", h.k.SendHTTPRequest(ch.handle, h.writeRequest(v)), abi.StatusLateFault)
		wantStatus(t, "response pending", h.k.ReadHTTPResponseData(ch.handle, h.out(16)), abi.StatusResponseNotPresent)
		wantStatus(t, "another request", h.k.SendHTTPRequest(ch.handle, good), abi.StatusRequestAlreadySent)
		h.cloud.sendData(t, ch.handle, link.AppendHTTPResponse(nil, &testResponse))
		c.wait(abi.EventTypeChannelDataReadable, 0x91)
		if d := h.responseData(ch); d.StatusCode != 200 {
			t.Fatalf("response %+v", d)
		}
	})
	// Judgment (spec order lists LATEFAULT before INVALIDHANDLE): a bad
	// nested pointer is LATEFAULT even on a handle that is not HTTP.
	bad := h.httpRequest(getReq)
	bad.URL.Data = 0x10
	wantStatus(t, "late on an opaque channel", h.k.SendHTTPRequest(opaque.handle, h.writeRequest(bad)), abi.StatusLateFault)

	closedCh := fresh(512)
	ch = fresh(512)
	for name, v := range map[string]uint32{
		"opaque channel": opaque.handle, "zero": 0, "random": 0xABCD, "network": nw, "centre": c.handle, "closed": closedCh.handle,
	} {
		wantStatus(t, name, h.k.SendHTTPRequest(v, good), abi.StatusInvalidHandle)
	}

	// INVALIDBUFFERSIZE: larger than the send buffer. Not issued: a smaller
	// request can still be sent.
	big := getReq
	big.Method = "POST"
	big.Body = bytes.Repeat([]byte("b"), 512-link.HTTPRequestSize(&big)+1)
	wantStatus(t, "513-byte request", h.send(ch, big), abi.StatusInvalidBufferSize)
	h.cloud.sync(t)
	if n := len(h.cloud.data(ch.handle)); n != 0 {
		t.Fatalf("%d bytes of a rejected request reached the cloud", n)
	}
	big.Body = big.Body[1:]
	if link.HTTPRequestSize(&big) != 512 {
		t.Fatalf("test bug: size %d", link.HTTPRequestSize(&big))
	}
	wantStatus(t, "512-byte request", h.send(ch, big), abi.StatusOkay)
	eventually(t, "request at the cloud", func() bool { return len(h.cloud.data(ch.handle)) == 512 })
	wantStatus(t, "too big after sent (size before state)", h.send(ch, link.HTTPRequest{Body: make([]byte, 600)}), abi.StatusInvalidBufferSize)
	wantStatus(t, "again", h.send(ch, getReq), abi.StatusRequestAlreadySent)

	// TOOMANYELEMENTS: 33 headers; 32 are fine.
	ch = fresh(1024)
	many := getReq
	many.Headers = headerList(33)
	wantStatus(t, "33 headers", h.send(ch, many), abi.StatusTooManyElements)
	v := h.httpRequest(getReq)
	v.NumHeaders, v.Headers = 33, 0x10 // not followed: the count is refused first
	wantStatus(t, "33 headers, bad array", h.k.SendHTTPRequest(ch.handle, h.writeRequest(v)), abi.StatusTooManyElements)
	many.Headers = headerList(32)
	wantStatus(t, "32 headers", h.send(ch, many), abi.StatusOkay)
	eventually(t, "request at the cloud", func() bool { return len(h.cloud.data(ch.handle)) == link.HTTPRequestSize(&many) })
	if got, _, _ := link.ParseHTTPRequest(h.cloud.data(ch.handle)); len(got.Headers) != 32 || got.Headers[31] != "X-H31: v" {
		t.Fatalf("headers at the cloud: %q", got.Headers)
	}

	// CHANNELCLOSED: the cloud closed the channel, or the link dropped.
	ch = fresh(512)
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 0x91)
	wantStatus(t, "after cloud CLOSE", h.send(ch, getReq), abi.StatusChannelClosed)
	many.Headers = headerList(33)
	wantStatus(t, "33 headers on a closed channel", h.send(ch, many), abi.StatusTooManyElements)
	ch = fresh(512)
	h.cloud.drop(t)
	c.wait(abi.EventTypeChannelNotConnected, 0x91)
	wantStatus(t, "after link drop", h.send(ch, getReq), abi.StatusChannelClosed)
}

// testResponse is a response with two headers and a 100-byte body.
var testResponse = link.HTTPResponse{
	Result: uint32(abi.HTTPResultOK), StatusCode: 200,
	Headers: []string{"Content-Type: text/plain", "X-Long: " + strings.Repeat("L", 40)},
	Body:    pattern(100, 44),
}

func TestHTTPResponse(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	opaque := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0xA0)
	closed := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0xA1)
	h.closeChannel(closed)
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0xA2)

	buf := h.out(256)
	for _, b := range badWritePtrs {
		// Pointer faults come first, even before there is a response.
		wantStatus(t, "data out "+b.name, h.k.ReadHTTPResponseData(ch.handle, b.addr), abi.StatusParameterFault)
		wantStatus(t, "header buf "+b.name, h.k.ReadHTTPResponseHeader(ch.handle, 0, b.addr, 10), abi.StatusParameterFault)
		wantStatus(t, "body buf "+b.name, h.k.ReadHTTPResponseBody(ch.handle, 0, b.addr, 10), abi.StatusParameterFault)
	}
	for name, v := range map[string]uint32{"opaque": opaque.handle, "zero": 0, "random": 0x9999, "closed": closed.handle, "network": nw} {
		wantStatus(t, "data "+name, h.k.ReadHTTPResponseData(v, buf), abi.StatusInvalidHandle)
		wantStatus(t, "header "+name, h.k.ReadHTTPResponseHeader(v, 0, buf, 10), abi.StatusInvalidHandle)
		wantStatus(t, "body "+name, h.k.ReadHTTPResponseBody(v, 0, buf, 10), abi.StatusInvalidHandle)
	}
	// No request yet, then no response yet.
	for _, when := range []string{"before the request", "before the response"} {
		wantStatus(t, "data "+when, h.k.ReadHTTPResponseData(ch.handle, buf), abi.StatusResponseNotPresent)
		wantStatus(t, "header "+when, h.k.ReadHTTPResponseHeader(ch.handle, 0, buf, 10), abi.StatusResponseNotPresent)
		wantStatus(t, "body "+when, h.k.ReadHTTPResponseBody(ch.handle, 0, buf, 10), abi.StatusResponseNotPresent)
		if when == "before the request" {
			wantStatus(t, "send", h.send(ch, getReq), abi.StatusOkay)
		}
	}
	if h.u32(buf) != sentinel {
		t.Fatal("a failed read wrote the buffer")
	}

	enc := link.AppendHTTPResponse(nil, &testResponse)
	h.cloud.sendData(t, ch.handle, enc)
	c.wait(abi.EventTypeChannelDataReadable, 0xA2)
	if !bytes.Equal(h.bytes(ch.rx, uint64(len(enc))), enc) {
		t.Fatal("the receive buffer does not hold the response")
	}
	if d := h.responseData(ch); d != (abi.HTTPResponseData{Result: abi.HTTPResultOK, StatusCode: 200, NumHeaders: 2, BodyLength: 100}) {
		t.Fatalf("response data %+v", d)
	}

	// Headers: whole, partial (the rest of the buffer untouched), bad index.
	for i, want := range testResponse.Headers {
		b := h.out(64)
		wantStatus(t, "header", h.call("mvReadHttpResponseHeader", uint64(ch.handle), uint64(i), uint64(b), 64), abi.StatusOkay)
		got := h.bytes(b, 64)
		if string(got[:len(want)]) != want || !bytes.Equal(got[len(want):], bytes.Repeat([]byte{0xA5}, 64-len(want))) {
			t.Fatalf("header %d: %q", i, got)
		}
	}
	b := h.out(16)
	wantStatus(t, "header, small buffer", h.k.ReadHTTPResponseHeader(ch.handle, 0, b, 7), abi.StatusOkay)
	if got := h.bytes(b, 16); string(got[:7]) != "Content" || !bytes.Equal(got[7:], bytes.Repeat([]byte{0xA5}, 9)) {
		t.Fatalf("partial header copy: %q", got)
	}
	wantStatus(t, "header, size 0", h.k.ReadHTTPResponseHeader(ch.handle, 1, 0x10, 0), abi.StatusOkay)
	for _, idx := range []uint32{2, 3, 0xFFFFFFFF} {
		wantStatus(t, fmt.Sprint("header index ", idx), h.k.ReadHTTPResponseHeader(ch.handle, idx, b, 16), abi.StatusIndexInvalid)
	}
	wantStatus(t, "bad buffer and bad index", h.k.ReadHTTPResponseHeader(ch.handle, 9, 0x10, 16), abi.StatusParameterFault)

	// Body: whole, from an offset, partial, at and past the end.
	body := testResponse.Body
	for _, tc := range []struct{ off, size, n uint32 }{
		{0, 200, 100}, {0, 100, 100}, {0, 30, 30}, {90, 50, 10}, {42, 8, 8}, {100, 10, 0}, {5, 0, 0},
	} {
		bb := h.out(200)
		wantStatus(t, "body", h.call("mvReadHttpResponseBody", uint64(ch.handle), uint64(tc.off), uint64(bb), uint64(tc.size)), abi.StatusOkay)
		got := h.bytes(bb, 200)
		if !bytes.Equal(got[:tc.n], body[tc.off:tc.off+tc.n]) || !bytes.Equal(got[tc.n:], bytes.Repeat([]byte{0xA5}, int(200-tc.n))) {
			t.Fatalf("body(off %d, size %d): % x", tc.off, tc.size, got[:tc.n+4])
		}
	}
	for _, off := range []uint32{101, 1000, 0xFFFFFFFF} {
		wantStatus(t, fmt.Sprint("body offset ", off), h.k.ReadHTTPResponseBody(ch.handle, off, b, 16), abi.StatusOffsetInvalid)
	}
	wantStatus(t, "body runs off SRAM", h.k.ReadHTTPResponseBody(ch.handle, 0, sramEnd-50, 100), abi.StatusParameterFault)
	// Reading does not consume: the response stays readable.
	if d := h.responseData(ch); d.BodyLength != 100 {
		t.Fatalf("response data changed: %+v", d)
	}
}

func TestHTTPResponseSplitAcrossFrames(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0xB1)
	wantStatus(t, "send", h.send(ch, getReq), abi.StatusOkay)
	enc := link.AppendHTTPResponse(nil, &testResponse)
	for _, part := range [][]byte{enc[:3], enc[3:30], enc[30 : len(enc)-1]} {
		h.cloud.sendData(t, ch.handle, part)
		h.cloud.sync(t)
		wantStatus(t, "partial response", h.k.ReadHTTPResponseData(ch.handle, h.out(16)), abi.StatusResponseNotPresent)
		if n := c.count(abi.EventTypeChannelDataReadable, 0xB1); n != 0 {
			t.Fatalf("CHANNELDATAREADABLE before the response was whole")
		}
	}
	h.cloud.sendData(t, ch.handle, enc[len(enc)-1:])
	c.wait(abi.EventTypeChannelDataReadable, 0xB1)
	if d := h.responseData(ch); d.StatusCode != 200 || d.NumHeaders != 2 || d.BodyLength != 100 {
		t.Fatalf("response data %+v", d)
	}
	last := h.out(4)
	wantStatus(t, "last body byte", h.k.ReadHTTPResponseBody(ch.handle, 99, last, 4), abi.StatusOkay)
	if h.bytes(last, 1)[0] != testResponse.Body[99] {
		t.Fatal("last body byte")
	}
	if n := c.count(abi.EventTypeChannelDataReadable, 0xB1); n != 0 {
		t.Fatalf("%d extra CHANNELDATAREADABLE", n)
	}
}

func TestHTTPResponseFailures(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()

	// A failed request's result is readable like any response.
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0xC1)
	wantStatus(t, "send", h.send(ch, getReq), abi.StatusOkay)
	h.cloud.sendData(t, ch.handle, link.AppendHTTPResponse(nil, &link.HTTPResponse{Result: uint32(abi.HTTPResultResponseTooLarge)}))
	c.wait(abi.EventTypeChannelDataReadable, 0xC1)
	if d := h.responseData(ch); d != (abi.HTTPResponseData{Result: abi.HTTPResultResponseTooLarge}) {
		t.Fatalf("response data %+v", d)
	}
	wantStatus(t, "no headers", h.k.ReadHTTPResponseHeader(ch.handle, 0, h.out(8), 8), abi.StatusIndexInvalid)
	wantStatus(t, "empty body at 0", h.k.ReadHTTPResponseBody(ch.handle, 0, h.out(8), 8), abi.StatusOkay)
	wantStatus(t, "empty body at 1", h.k.ReadHTTPResponseBody(ch.handle, 1, h.out(8), 8), abi.StatusOffsetInvalid)

	// A response claiming more than the receive buffer: the channel is
	// terminated (the cloud should have sent RESPONSETOOLARGE).
	ch2 := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0xC2)
	wantStatus(t, "send", h.send(ch2, getReq), abi.StatusOkay)
	bogus := link.AppendHTTPResponse(nil, &link.HTTPResponse{Body: make([]byte, 600)})
	h.cloud.sendData(t, ch2.handle, bogus[:100])
	c.wait(abi.EventTypeChannelNotConnected, 0xC2)
	if r := h.closureReason(ch2); r != abi.ClosureReasonUnexpectedlyTerminated {
		t.Fatalf("reason %v", r)
	}
	h.cloud.waitFrame(t, "CLOSE", frameIs(link.FrameClose, ch2.handle))
	wantStatus(t, "read", h.k.ReadHTTPResponseData(ch2.handle, h.out(16)), abi.StatusChannelClosed)
	if !h.k.LinkUp() || h.closureReason(ch) != abi.ClosureReasonNone {
		t.Fatal("one bad response affected the link or another channel")
	}
}

func TestHTTPAfterLinkDrop(t *testing.T) {
	h := newHarness(t)
	h.cloud.setAutoCredit(true)
	c, nw := h.ready()
	answered := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0xD1)
	pending := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0xD2)
	unused := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0xD3)
	wantStatus(t, "send", h.send(answered, getReq), abi.StatusOkay)
	wantStatus(t, "send", h.send(pending, getReq), abi.StatusOkay)
	h.cloud.sendData(t, answered.handle, link.AppendHTTPResponse(nil, &testResponse))
	c.wait(abi.EventTypeChannelDataReadable, 0xD1)

	h.cloud.drop(t)
	for _, tag := range []uint32{0xD1, 0xD2, 0xD3} {
		c.wait(abi.EventTypeChannelNotConnected, tag)
	}
	// The response already received stays readable.
	if d := h.responseData(answered); d.StatusCode != 200 || d.BodyLength != 100 {
		t.Fatalf("response after the link dropped: %+v", d)
	}
	b := h.out(100)
	wantStatus(t, "body", h.k.ReadHTTPResponseBody(answered.handle, 0, b, 100), abi.StatusOkay)
	if !bytes.Equal(h.bytes(b, 100), testResponse.Body) {
		t.Fatal("body after the link dropped")
	}
	wantStatus(t, "header", h.k.ReadHTTPResponseHeader(answered.handle, 1, b, 100), abi.StatusOkay)
	// Without a response: CHANNELCLOSED.
	for _, ch := range []*channel{pending, unused} {
		wantStatus(t, "data", h.k.ReadHTTPResponseData(ch.handle, b), abi.StatusChannelClosed)
		wantStatus(t, "header", h.k.ReadHTTPResponseHeader(ch.handle, 0, b, 10), abi.StatusChannelClosed)
		wantStatus(t, "body", h.k.ReadHTTPResponseBody(ch.handle, 0, b, 10), abi.StatusChannelClosed)
	}
	wantStatus(t, "send on an unused, disconnected channel", h.send(unused, getReq), abi.StatusChannelClosed)
	// Statuses that need no response still come first.
	wantStatus(t, "bad buffer", h.k.ReadHTTPResponseData(pending.handle, 0x10), abi.StatusParameterFault)
	wantStatus(t, "index on a closed channel", h.k.ReadHTTPResponseHeader(pending.handle, 99, b, 10), abi.StatusChannelClosed)
}
