package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/mvnet/mvnet/mem"
)

// Typed views of the structures the kernel decodes and encodes. Pointers are
// mem.Addr; handles are the 32-bit values the device sees, whatever the
// width of the C field that carries them.

// SizedString is MvSizedString: Length bytes at Data.
type SizedString struct {
	Data   mem.Addr
	Length uint32
}

// NotificationSetup is MvNotificationSetup.
type NotificationSetup struct {
	IRQ        uint32
	Buffer     mem.Addr
	BufferSize uint32
}

// Notification is MvNotification, one 16-byte record of a notification ring
// (the same layout in every ABI).
type Notification struct {
	Microseconds uint64
	EventType    EventType
	Tag          uint32
}

// RequestNetworkParams is MvRequestNetworkParams (v1 fields flattened).
type RequestNetworkParams struct {
	Version            uint32
	NotificationHandle uint32
	NotificationTag    uint32
}

// OpenChannelParams is MvOpenChannelParams (v1 fields flattened).
type OpenChannelParams struct {
	Version            uint32
	NotificationHandle uint32
	NotificationTag    uint32
	NetworkHandle      uint32
	ReceiveBuffer      mem.Addr
	ReceiveBufferLen   uint32
	SendBuffer         mem.Addr
	SendBufferLen      uint32
	ChannelType        ChannelType
	Endpoint           SizedString
}

// HTTPHeader is MvHttpHeader: Length bytes at Data (length comes first).
type HTTPHeader struct {
	Length uint32
	Data   mem.Addr
}

// HTTPRequest is MvHttpRequest. Headers is the address of an array of
// NumHeaders MvHttpHeader; read it with ReadHTTPHeaders.
type HTTPRequest struct {
	Method     SizedString
	URL        SizedString
	NumHeaders uint32
	Headers    mem.Addr
	Body       SizedString
	TimeoutMS  uint32
}

// HTTPResponseData is MvHttpResponseData.
type HTTPResponseData struct {
	Result     HTTPResult
	StatusCode uint32
	NumHeaders uint32
	BodyLength uint32
}

// NotificationSize is the size of one MvNotification record in every ABI.
const NotificationSize = 16

// ErrAddressRange is returned by encoders given an address too wide for the
// ABI's pointers (above 0xffffffff on the device).
var ErrAddressRange = errors.New("abi: address does not fit the ABI's pointer size")

var le = binary.LittleEndian // spec/abi.md: both ABIs are little-endian

// scratch buffers carry structures between application memory and the
// codecs. A stack array would escape to the heap (it is passed through the
// mem.Memory interface), so buffers come from a pool instead: no allocation
// per call once the pool is warm.
const scratchSize = 512

var scratch = sync.Pool{New: func() any { return new([scratchSize]byte) }}

func getScratch() *[scratchSize]byte  { return scratch.Get().(*[scratchSize]byte) }
func putScratch(b *[scratchSize]byte) { scratch.Put(b) }

// Offsets the codecs use, looked up once per ABI so that no call consults a
// map. Offsets of nested members are absolute.
type sizedStringOffs struct{ data, length int }

type codecs struct {
	setup  struct{ size, irq, buffer, bufferSize int }
	reqNet struct{ size, version, handle, tag int }
	open   struct {
		size, version, notif, tag, network, rx, rxLen, tx, txLen, chType int
		endpoint                                                         sizedStringOffs
	}
	header struct{ size, length, data int }
	req    struct {
		size            int
		method, url     sizedStringOffs
		numHeaders, hdr int
		body            sizedStringOffs
		timeout         int
	}
	resp   struct{ size, result, status, numHeaders, bodyLength int }
	mqtt   mqttCodecs   // codec_mqtt.go
	config configCodecs // codec_config.go
}

// offsetLookup reads offsets out of an ABI's layouts, keeping the first error.
type offsetLookup struct {
	a   *ABI
	err error
}

func (o *offsetLookup) size(s string) int {
	l := o.a.structs[s]
	if l == nil {
		o.fail(fmt.Errorf("abi %s: no layout for %s", o.a.name, s))
		return 0
	}
	if l.size > scratchSize {
		o.fail(fmt.Errorf("abi %s: %s is %d bytes, over the codec limit %d", o.a.name, s, l.size, scratchSize))
	}
	return l.size
}

func (o *offsetLookup) off(s, path string) int {
	if l := o.a.structs[s]; l != nil {
		if f, ok := l.Field(path); ok {
			return f.Offset
		}
	}
	o.fail(fmt.Errorf("abi %s: no field %s.%s", o.a.name, s, path))
	return 0
}

func (o *offsetLookup) str(s, path string) sizedStringOffs {
	return sizedStringOffs{o.off(s, path+".data"), o.off(s, path+".length")}
}

func (o *offsetLookup) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

func (a *ABI) initCodecs() error {
	o := &offsetLookup{a: a}
	c := &a.c
	const ns, rn, oc = "MvNotificationSetup", "MvRequestNetworkParams", "MvOpenChannelParams"
	c.setup.size = o.size(ns)
	c.setup.irq, c.setup.buffer, c.setup.bufferSize = o.off(ns, "irq"), o.off(ns, "buffer"), o.off(ns, "buffer_size")
	c.reqNet.size = o.size(rn)
	c.reqNet.version, c.reqNet.handle, c.reqNet.tag = o.off(rn, "version"), o.off(rn, "v1.notification_handle"), o.off(rn, "v1.notification_tag")
	c.open.size = o.size(oc)
	c.open.version = o.off(oc, "version")
	c.open.notif, c.open.tag = o.off(oc, "v1.notification_handle"), o.off(oc, "v1.notification_tag")
	c.open.network = o.off(oc, "v1.network_handle")
	c.open.rx, c.open.rxLen = o.off(oc, "v1.receive_buffer"), o.off(oc, "v1.receive_buffer_len")
	c.open.tx, c.open.txLen = o.off(oc, "v1.send_buffer"), o.off(oc, "v1.send_buffer_len")
	c.open.chType = o.off(oc, "v1.channel_type")
	c.open.endpoint = o.str(oc, "v1.endpoint")
	const hh, hr, hd = "MvHttpHeader", "MvHttpRequest", "MvHttpResponseData"
	c.header.size = o.size(hh)
	c.header.length, c.header.data = o.off(hh, "length"), o.off(hh, "data")
	c.req.size = o.size(hr)
	c.req.method, c.req.url, c.req.body = o.str(hr, "method"), o.str(hr, "url"), o.str(hr, "body")
	c.req.numHeaders, c.req.hdr, c.req.timeout = o.off(hr, "num_headers"), o.off(hr, "headers"), o.off(hr, "timeout_ms")
	c.resp.size = o.size(hd)
	c.resp.result, c.resp.status = o.off(hd, "result"), o.off(hd, "status_code")
	c.resp.numHeaders, c.resp.bodyLength = o.off(hd, "num_headers"), o.off(hd, "body_length")
	c.mqtt.init(o)
	c.config.init(o)
	return o.err
}

// Field access within a scratch buffer.

// ptrAt decodes a pointer-sized field.
func (a *ABI) ptrAt(b []byte, off int) mem.Addr {
	if a.ptrSize == 4 {
		return mem.Addr(le.Uint32(b[off:]))
	}
	return mem.Addr(le.Uint64(b[off:]))
}

// handleAt decodes a pointer-sized handle field. A value that does not fit
// 32 bits is never a valid handle and decodes as 0.
func (a *ABI) handleAt(b []byte, off int) uint32 {
	if a.ptrSize == 4 {
		return le.Uint32(b[off:])
	}
	v := le.Uint64(b[off:])
	if v > math.MaxUint32 {
		return 0
	}
	return uint32(v)
}

func (a *ABI) strAt(b []byte, o sizedStringOffs) SizedString {
	return SizedString{Data: a.ptrAt(b, o.data), Length: le.Uint32(b[o.length:])}
}

// putPtr encodes a pointer-sized field; it reports false if v is too wide.
func (a *ABI) putPtr(b []byte, off int, v mem.Addr) bool {
	if a.ptrSize == 4 {
		le.PutUint32(b[off:], uint32(v))
		return v <= math.MaxUint32
	}
	le.PutUint64(b[off:], uint64(v))
	return true
}

func (a *ABI) putHandle(b []byte, off int, h uint32) {
	if a.ptrSize == 4 {
		le.PutUint32(b[off:], h)
	} else {
		le.PutUint64(b[off:], uint64(h))
	}
}

func (a *ABI) putStr(b []byte, o sizedStringOffs, s SizedString) bool {
	le.PutUint32(b[o.length:], s.Length)
	return a.putPtr(b, o.data, s.Data)
}

func rangeErr(vs ...mem.Addr) error {
	for _, v := range vs {
		if v > math.MaxUint32 {
			return fmt.Errorf("%w: %s", ErrAddressRange, v)
		}
	}
	return ErrAddressRange
}

// HandleSize is the size in bytes of a handle in application memory: the
// pointer size, since handles are pointer typedefs in the C header.
func (a *ABI) HandleSize() int { return a.ptrSize }

// ReadHandle reads a pointer-sized handle at p. A value that does not fit 32
// bits decodes as 0, which is never a valid handle.
func (a *ABI) ReadHandle(m mem.Memory, p mem.Addr) (uint32, error) {
	s := getScratch()
	defer putScratch(s)
	b := s[:a.ptrSize]
	if err := m.CopyIn(b, p); err != nil {
		return 0, err
	}
	return a.handleAt(b, 0), nil
}

// WriteHandle writes h as a pointer-sized handle at p (zero-extended).
func (a *ABI) WriteHandle(m mem.Memory, p mem.Addr, h uint32) error {
	s := getScratch()
	defer putScratch(s)
	b := s[:a.ptrSize]
	a.putHandle(b, 0, h)
	return m.CopyOut(p, b)
}

// WritePointer writes v as a pointer at p. A v too wide for the ABI's
// pointers gives an error wrapping ErrAddressRange and writes nothing.
func (a *ABI) WritePointer(m mem.Memory, p mem.Addr, v mem.Addr) error {
	s := getScratch()
	defer putScratch(s)
	b := s[:a.ptrSize]
	if !a.putPtr(b, 0, v) {
		return rangeErr(v)
	}
	return m.CopyOut(p, b)
}

// ReadNotificationSetup reads an MvNotificationSetup at p.
func (a *ABI) ReadNotificationSetup(m mem.Memory, p mem.Addr) (NotificationSetup, error) {
	o := &a.c.setup
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	if err := m.CopyIn(b, p); err != nil {
		return NotificationSetup{}, err
	}
	return NotificationSetup{
		IRQ:        le.Uint32(b[o.irq:]),
		Buffer:     a.ptrAt(b, o.buffer),
		BufferSize: le.Uint32(b[o.bufferSize:]),
	}, nil
}

// WriteNotificationSetup writes v as an MvNotificationSetup at p.
func (a *ABI) WriteNotificationSetup(m mem.Memory, p mem.Addr, v NotificationSetup) error {
	o := &a.c.setup
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	clear(b)
	le.PutUint32(b[o.irq:], v.IRQ)
	le.PutUint32(b[o.bufferSize:], v.BufferSize)
	if !a.putPtr(b, o.buffer, v.Buffer) {
		return rangeErr(v.Buffer)
	}
	return m.CopyOut(p, b)
}

// ReadRequestNetworkParams reads an MvRequestNetworkParams at p. The v1
// fields are decoded whatever the version; checking it is the caller's job.
func (a *ABI) ReadRequestNetworkParams(m mem.Memory, p mem.Addr) (RequestNetworkParams, error) {
	o := &a.c.reqNet
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	if err := m.CopyIn(b, p); err != nil {
		return RequestNetworkParams{}, err
	}
	return RequestNetworkParams{
		Version:            le.Uint32(b[o.version:]),
		NotificationHandle: a.handleAt(b, o.handle),
		NotificationTag:    le.Uint32(b[o.tag:]),
	}, nil
}

// WriteRequestNetworkParams writes v as an MvRequestNetworkParams at p.
func (a *ABI) WriteRequestNetworkParams(m mem.Memory, p mem.Addr, v RequestNetworkParams) error {
	o := &a.c.reqNet
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	clear(b)
	le.PutUint32(b[o.version:], v.Version)
	a.putHandle(b, o.handle, v.NotificationHandle)
	le.PutUint32(b[o.tag:], v.NotificationTag)
	return m.CopyOut(p, b)
}

// ReadOpenChannelParams reads an MvOpenChannelParams at p. The v1 fields
// are decoded whatever the version; checking it is the caller's job.
func (a *ABI) ReadOpenChannelParams(m mem.Memory, p mem.Addr) (OpenChannelParams, error) {
	o := &a.c.open
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	if err := m.CopyIn(b, p); err != nil {
		return OpenChannelParams{}, err
	}
	return OpenChannelParams{
		Version:            le.Uint32(b[o.version:]),
		NotificationHandle: a.handleAt(b, o.notif),
		NotificationTag:    le.Uint32(b[o.tag:]),
		NetworkHandle:      a.handleAt(b, o.network),
		ReceiveBuffer:      a.ptrAt(b, o.rx),
		ReceiveBufferLen:   le.Uint32(b[o.rxLen:]),
		SendBuffer:         a.ptrAt(b, o.tx),
		SendBufferLen:      le.Uint32(b[o.txLen:]),
		ChannelType:        ChannelType(le.Uint32(b[o.chType:])),
		Endpoint:           a.strAt(b, o.endpoint),
	}, nil
}

// WriteOpenChannelParams writes v as an MvOpenChannelParams at p.
func (a *ABI) WriteOpenChannelParams(m mem.Memory, p mem.Addr, v OpenChannelParams) error {
	o := &a.c.open
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	clear(b)
	le.PutUint32(b[o.version:], v.Version)
	a.putHandle(b, o.notif, v.NotificationHandle)
	le.PutUint32(b[o.tag:], v.NotificationTag)
	a.putHandle(b, o.network, v.NetworkHandle)
	le.PutUint32(b[o.rxLen:], v.ReceiveBufferLen)
	le.PutUint32(b[o.txLen:], v.SendBufferLen)
	le.PutUint32(b[o.chType:], uint32(v.ChannelType))
	ok := a.putPtr(b, o.rx, v.ReceiveBuffer)
	ok = a.putPtr(b, o.tx, v.SendBuffer) && ok
	ok = a.putStr(b, o.endpoint, v.Endpoint) && ok
	if !ok {
		return rangeErr(v.ReceiveBuffer, v.SendBuffer, v.Endpoint.Data)
	}
	return m.CopyOut(p, b)
}

// ReadHTTPRequest reads an MvHttpRequest at p. Nested pointers (strings,
// the header array) are not followed.
func (a *ABI) ReadHTTPRequest(m mem.Memory, p mem.Addr) (HTTPRequest, error) {
	o := &a.c.req
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	if err := m.CopyIn(b, p); err != nil {
		return HTTPRequest{}, err
	}
	return HTTPRequest{
		Method:     a.strAt(b, o.method),
		URL:        a.strAt(b, o.url),
		NumHeaders: le.Uint32(b[o.numHeaders:]),
		Headers:    a.ptrAt(b, o.hdr),
		Body:       a.strAt(b, o.body),
		TimeoutMS:  le.Uint32(b[o.timeout:]),
	}, nil
}

// WriteHTTPRequest writes v as an MvHttpRequest at p.
func (a *ABI) WriteHTTPRequest(m mem.Memory, p mem.Addr, v HTTPRequest) error {
	o := &a.c.req
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	clear(b)
	le.PutUint32(b[o.numHeaders:], v.NumHeaders)
	le.PutUint32(b[o.timeout:], v.TimeoutMS)
	ok := a.putStr(b, o.method, v.Method)
	ok = a.putStr(b, o.url, v.URL) && ok
	ok = a.putPtr(b, o.hdr, v.Headers) && ok
	ok = a.putStr(b, o.body, v.Body) && ok
	if !ok {
		return rangeErr(v.Method.Data, v.URL.Data, v.Headers, v.Body.Data)
	}
	return m.CopyOut(p, b)
}

// ReadHTTPHeaders appends to dst the n MvHttpHeader elements of the array
// at p and returns the extended slice. It reads exactly n elements, so the
// caller bounds n first (spec/abi.md: at most 32 headers). On a fault it
// returns dst unextended and the fault.
func (a *ABI) ReadHTTPHeaders(m mem.Memory, p mem.Addr, n uint32, dst []HTTPHeader) ([]HTTPHeader, error) {
	return readArray(a, m, p, n, a.c.header.size, dst, (*ABI).decHTTPHeader)
}

// WriteHTTPHeaders writes hs as an array of MvHttpHeader at p. The array is
// written in pieces, so a fault part-way may leave earlier elements written.
func (a *ABI) WriteHTTPHeaders(m mem.Memory, p mem.Addr, hs []HTTPHeader) error {
	return writeArray(a, m, p, hs, a.c.header.size, (*ABI).encHTTPHeader)
}

func (a *ABI) decHTTPHeader(b []byte) HTTPHeader {
	o := &a.c.header
	return HTTPHeader{Length: le.Uint32(b[o.length:]), Data: a.ptrAt(b, o.data)}
}

func (a *ABI) encHTTPHeader(b []byte, h HTTPHeader) error {
	o := &a.c.header
	le.PutUint32(b[o.length:], h.Length)
	return okOrRange(a.putPtr(b, o.data, h.Data), h.Data)
}

// arrayBounds faults an array whose end wraps past the top of the 64-bit
// address space, which piecewise access would not notice.
func arrayBounds(p mem.Addr, n uint32, size int, write bool) error {
	total := uint64(n) * uint64(size)
	if uint64(p)+total < uint64(p) {
		return &mem.Fault{Addr: p, Len: total, Write: write, Kind: mem.Overflow}
	}
	return nil
}

// ReadHTTPResponseData reads an MvHttpResponseData at p.
func (a *ABI) ReadHTTPResponseData(m mem.Memory, p mem.Addr) (HTTPResponseData, error) {
	o := &a.c.resp
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	if err := m.CopyIn(b, p); err != nil {
		return HTTPResponseData{}, err
	}
	return HTTPResponseData{
		Result:     HTTPResult(le.Uint32(b[o.result:])),
		StatusCode: le.Uint32(b[o.status:]),
		NumHeaders: le.Uint32(b[o.numHeaders:]),
		BodyLength: le.Uint32(b[o.bodyLength:]),
	}, nil
}

// WriteHTTPResponseData writes v as an MvHttpResponseData at p.
func (a *ABI) WriteHTTPResponseData(m mem.Memory, p mem.Addr, v HTTPResponseData) error {
	o := &a.c.resp
	s := getScratch()
	defer putScratch(s)
	b := s[:o.size]
	clear(b)
	le.PutUint32(b[o.result:], uint32(v.Result))
	le.PutUint32(b[o.status:], v.StatusCode)
	le.PutUint32(b[o.numHeaders:], v.NumHeaders)
	le.PutUint32(b[o.bodyLength:], v.BodyLength)
	return m.CopyOut(p, b)
}

// MvNotification offsets, the same in every ABI (checked by the tests).
const (
	notifMicroseconds = 0
	notifEventType    = 8
	notifTag          = 12
)

// EncodeNotification encodes n as an MvNotification record.
func EncodeNotification(b *[NotificationSize]byte, n Notification) {
	le.PutUint64(b[notifMicroseconds:], n.Microseconds)
	le.PutUint32(b[notifEventType:], uint32(n.EventType))
	le.PutUint32(b[notifTag:], n.Tag)
}

// DecodeNotification decodes the MvNotification record at the start of b,
// which must hold at least NotificationSize bytes.
func DecodeNotification(b []byte) Notification {
	b = b[:NotificationSize]
	return Notification{
		Microseconds: le.Uint64(b[notifMicroseconds:]),
		EventType:    EventType(le.Uint32(b[notifEventType:])),
		Tag:          le.Uint32(b[notifTag:]),
	}
}
