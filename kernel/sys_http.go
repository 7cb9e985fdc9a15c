package kernel

import (
	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// HTTP channels (seed 000). The request is encoded into the send ring and
// relayed; the cloud validates and performs it and sends the response, which
// lands in the receive ring; the read calls copy from there.

// SendHTTPRequest is mvSendHttpRequest. spec/abi.md order: PARAMETERFAULT
// (the request structure); LATEFAULT (a nested pointer is bad — the channel
// is left unusable); INVALIDHANDLE (not an HTTP channel); INVALIDBUFFERSIZE
// (the encoded request exceeds the send buffer — with more than 32
// headers, on the count of their length words alone); TOOMANYELEMENTS
// (more than 32 headers); CHANNELCLOSED; REQUESTALREADYSENT (one accepted
// request per channel). A rejected request is not issued: the channel can
// be used again. TestStatusOrder checks this order against abi/calls.go.
func (k *Kernel) SendHTTPRequest(h uint32, reqPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadHTTPRequest(k.mem, reqPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	hdrs, late := k.readNestedHTTP(&r, k.hdrBuf[:0])
	ch, isHTTP := k.channelOfType(h, abi.ChannelTypeHTTP)
	if late {
		// spec/abi.md: LATEFAULT leaves the channel unusable. A channel
		// whose request was already accepted keeps it: its response must
		// stay readable (RESPONSENOTPRESENT, then the response), not turn
		// CHANNELCLOSED until it arrives; REQUESTALREADYSENT already
		// refuses any further request.
		if isHTTP && !ch.reqSent {
			ch.unusable = true
		}
		return abi.StatusLateFault
	}
	if !isHTTP {
		return abi.StatusInvalidHandle
	}
	tooMany := r.NumHeaders > maxHTTPHeaders
	size := uint64(link.HTTPRequestFixedLen) + uint64(r.Method.Length) + uint64(r.URL.Length) + uint64(r.Body.Length)
	if tooMany {
		// The header array of an over-long list is not followed (it
		// would size the work by the application's count): its headers
		// count their 4-byte length words only, a lower bound, so that a
		// request too large on that count alone is INVALIDBUFFERSIZE, which
		// spec/abi.md orders before TOOMANYELEMENTS.
		size += 4 * uint64(r.NumHeaders)
	}
	for _, hd := range hdrs {
		size += 4 + uint64(hd.Length)
	}
	if size > uint64(ch.txLen) {
		return abi.StatusInvalidBufferSize
	}
	if tooMany {
		return abi.StatusTooManyElements
	}
	if !ch.connected() || ch.unusable {
		return abi.StatusChannelClosed
	}
	if ch.reqSent {
		return abi.StatusRequestAlreadySent
	}
	enc, err := k.encodeHTTPRequestLocked(&r, hdrs)
	k.scratch = enc[:0]
	if err != nil {
		// The memory changed under us since the checks above.
		ch.unusable = true
		return abi.StatusLateFault
	}
	ch.reqSent = true
	k.txAppendLocked(ch, enc)
	return abi.StatusOkay
}

// readNestedHTTP checks every pointer inside the request and reads the
// header array (when it is within the limit). late reports a bad pointer.
func (k *Kernel) readNestedHTTP(r *abi.HTTPRequest, dst []abi.HTTPHeader) (hdrs []abi.HTTPHeader, late bool) {
	if !k.checkR(r.Method.Data, uint64(r.Method.Length)) || !k.checkR(r.URL.Data, uint64(r.URL.Length)) ||
		!k.checkR(r.Body.Data, uint64(r.Body.Length)) {
		return nil, true
	}
	if r.NumHeaders == 0 || r.NumHeaders > maxHTTPHeaders {
		return nil, false
	}
	hdrs, err := k.abi.ReadHTTPHeaders(k.mem, r.Headers, r.NumHeaders, dst)
	if err != nil {
		return nil, true
	}
	for _, hd := range hdrs {
		if !k.checkR(hd.Data, uint64(hd.Length)) {
			return nil, true
		}
	}
	return hdrs, false
}

// encodeHTTPRequestLocked encodes the request into the kernel's scratch
// buffer, copying its bytes from application memory straight into place
// (no intermediate strings: issue 11, allocations per request).
func (k *Kernel) encodeHTTPRequestLocked(r *abi.HTTPRequest, hdrs []abi.HTTPHeader) ([]byte, error) {
	var lens [maxHTTPHeaders]uint32
	var src [maxHTTPHeaders + 3]mem.Addr
	src[0], src[1] = r.Method.Data, r.URL.Data
	for i, hd := range hdrs {
		lens[i] = hd.Length
		src[2+i] = hd.Data
	}
	src[2+len(hdrs)] = r.Body.Data
	var spanArr [maxHTTPHeaders + 3]link.Span
	enc, spans := link.AppendHTTPRequestSpace(k.scratchLocked(0), r.TimeoutMS, r.Method.Length, r.URL.Length,
		lens[:len(hdrs)], r.Body.Length, spanArr[:0])
	for i, sp := range spans {
		if sp.Len == 0 {
			continue
		}
		if err := k.mem.CopyIn(enc[sp.Off:sp.Off+sp.Len], src[i]); err != nil {
			return enc, err
		}
	}
	return enc, nil
}

// httpResponseLocked finds the response on an HTTP channel, or the status
// explaining why there is none.
func (k *Kernel) httpResponseLocked(h uint32) (*channel, abi.Status) {
	ch, ok := k.channelOfType(h, abi.ChannelTypeHTTP)
	if !ok {
		return nil, abi.StatusInvalidHandle
	}
	return ch, ch.responseStatus(ch.resp != nil)
}

// ReadHTTPResponseData is mvReadHttpResponseData. In abi/calls.go's order:
// PARAMETERFAULT, INVALIDHANDLE, CHANNELCLOSED (no response came before
// the disconnection), RESPONSENOTPRESENT.
func (k *Kernel) ReadHTTPResponseData(h uint32, out mem.Addr) abi.Status {
	if !k.checkW(out, 16) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	ch, st := k.httpResponseLocked(h)
	var d abi.HTTPResponseData
	if st == abi.StatusOkay {
		d = abi.HTTPResponseData{
			Result:     abi.HTTPResult(ch.resp.Result),
			StatusCode: ch.resp.StatusCode,
			NumHeaders: uint32(len(ch.resp.Headers)),
			BodyLength: ch.resp.Body.Len,
		}
	}
	k.mu.Unlock()
	if st != abi.StatusOkay {
		return st
	}
	if k.abi.WriteHTTPResponseData(k.mem, out, d) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// ReadHTTPResponseHeader is mvReadHttpResponseHeader: copies up to size
// bytes of header index ("Name: value", no terminator, no length written).
// In abi/calls.go's order: PARAMETERFAULT, INVALIDHANDLE, CHANNELCLOSED,
// RESPONSENOTPRESENT, INDEXINVALID.
func (k *Kernel) ReadHTTPResponseHeader(h uint32, index uint32, buf mem.Addr, size uint32) abi.Status {
	if !k.checkW(buf, uint64(size)) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.httpResponseLocked(h)
	if st != abi.StatusOkay {
		return st
	}
	if uint64(index) >= uint64(len(ch.resp.Headers)) {
		return abi.StatusIndexInvalid
	}
	sp := ch.resp.Headers[index]
	if k.copyWithin(buf, ch.rx+mem.Addr(sp.Off), uint64(min(size, sp.Len))) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// ReadHTTPResponseBody is mvReadHttpResponseBody: copies
// min(size, body_length − offset) bytes from offset; the rest of buf is left
// untouched. In abi/calls.go's order: PARAMETERFAULT, INVALIDHANDLE,
// CHANNELCLOSED, RESPONSENOTPRESENT, OFFSETINVALID (offset past the end of
// the body; offset == body_length copies nothing).
func (k *Kernel) ReadHTTPResponseBody(h uint32, offset uint32, buf mem.Addr, size uint32) abi.Status {
	if !k.checkW(buf, uint64(size)) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.httpResponseLocked(h)
	if st != abi.StatusOkay {
		return st
	}
	body := ch.resp.Body
	if offset > body.Len {
		return abi.StatusOffsetInvalid
	}
	n := min(size, body.Len-offset)
	if k.copyWithin(buf, ch.rx+mem.Addr(body.Off+offset), uint64(n)) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}
