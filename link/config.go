package link

import (
	"encoding/binary"
	"math"
)

// CONFIGFETCH channel messages.
//
// A CONFIGFETCH channel carries one request from the device (in its send
// ring) and one response from the cloud (in its receive ring),
// little-endian like the HTTP and MQTT encodings:
//
//	message := total u32 | kind u8 | body        (total counts every byte)
//	str     := len u32 | bytes
//
//	ConfigFetchRequest  1    n u16 | { scope u8 | store u8 | key str }…
//	ConfigFetchResponse 0x81 result u32 | n u16 | { result u8 | value str }…
//
// scope is an MvConfigKeyFetchScope, store an MvConfigKeyFetchStore. The
// response's result is an MvConfigFetchResult; its items answer the
// request's keys in request order, each with an MvConfigKeyFetchResult and
// the value (empty unless the item's result is OK). A response whose
// result is RESPONSETOOLARGE has no items: the cloud sends it when the
// whole answer would not fit the device's receive ring, so a response
// never exceeds the ring.

// Kinds of CONFIGFETCH channel message.
const (
	ConfigFetchRequest  uint8 = 1
	ConfigFetchResponse uint8 = 0x81
)

// Fixed parts of the CONFIGFETCH messages, and of each key and item.
const (
	ConfigRequestFixedLen  = 7  // total | kind | n
	ConfigResponseFixedLen = 11 // total | kind | result | n
	ConfigKeyFixedLen      = 6  // scope | store | key len
	ConfigItemFixedLen     = 5  // result | value len
)

// ConfigKey is one key of a config fetch.
type ConfigKey struct {
	Scope uint8 // an MvConfigKeyFetchScope
	Store uint8 // an MvConfigKeyFetchStore
	Key   string
}

// ConfigRequest is the message the kernel writes into a CONFIGFETCH
// channel's send ring for mvSendConfigFetchRequest.
type ConfigRequest struct {
	Keys []ConfigKey
}

// ConfigItem is the answer for one key.
type ConfigItem struct {
	Result uint8 // an MvConfigKeyFetchResult
	Value  []byte
}

// ConfigResponse is the message the cloud sends back on a CONFIGFETCH
// channel.
type ConfigResponse struct {
	Result uint32 // an MvConfigFetchResult
	Items  []ConfigItem
}

// ConfigItemIndex locates one item of an encoded ConfigResponse.
type ConfigItemIndex struct {
	Result uint8
	Value  Span
}

// ConfigResponseIndex locates the parts of an encoded ConfigResponse
// without copying them, so the kernel can read values in place from the
// receive ring.
type ConfigResponseIndex struct {
	Total, Result uint32
	Items         []ConfigItemIndex
}

// ConfigRequestSize returns the encoded size of r.
func ConfigRequestSize(r *ConfigRequest) int {
	n := ConfigRequestFixedLen
	for _, k := range r.Keys {
		n += ConfigKeyFixedLen + len(k.Key)
	}
	return n
}

// ConfigResponseSize returns the encoded size of r.
func ConfigResponseSize(r *ConfigResponse) int {
	n := ConfigResponseFixedLen
	for _, it := range r.Items {
		n += ConfigItemFixedLen + len(it.Value)
	}
	return n
}

// AppendConfigRequest appends the encoding of r to dst. It panics if r has
// more than 65535 keys or does not fit a u32 total.
func AppendConfigRequest(dst []byte, r *ConfigRequest) []byte {
	n := ConfigRequestSize(r)
	checkSize(n)
	if len(r.Keys) > math.MaxUint16 {
		panic("link: config request with more than 65535 keys")
	}
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	dst = append(dst, ConfigFetchRequest)
	dst = le.AppendUint16(dst, uint16(len(r.Keys)))
	for _, k := range r.Keys {
		dst = append(dst, k.Scope, k.Store)
		dst = le.AppendUint32(dst, uint32(len(k.Key)))
		dst = append(dst, k.Key...)
	}
	return dst
}

// AppendConfigResponse appends the encoding of r to dst. It panics if r has
// more than 65535 items or does not fit a u32 total.
func AppendConfigResponse(dst []byte, r *ConfigResponse) []byte {
	n := ConfigResponseSize(r)
	checkSize(n)
	if len(r.Items) > math.MaxUint16 {
		panic("link: config response with more than 65535 items")
	}
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	dst = append(dst, ConfigFetchResponse)
	dst = le.AppendUint32(dst, r.Result)
	dst = le.AppendUint16(dst, uint16(len(r.Items)))
	for _, it := range r.Items {
		dst = append(dst, it.Result)
		dst = le.AppendUint32(dst, uint32(len(it.Value)))
		dst = append(dst, it.Value...)
	}
	return dst
}

// configMessage returns the first message in b after checking its total
// and kind: ErrShort while incomplete, ErrMalformed if inconsistent.
func configMessage(b []byte, fixed int, kind uint8, what string) ([]byte, error) {
	m, err := message(b, fixed, what)
	if err != nil {
		return nil, err
	}
	if m[4] != kind {
		return nil, malformed("%s kind %#x, want %#x", what, m[4], kind)
	}
	return m, nil
}

// ParseConfigRequest decodes the first message in b and returns it and its
// length. It returns ErrShort if b does not yet hold the whole message and
// ErrMalformed (wrapped) if its lengths do not account for exactly total
// bytes. Keys are copied.
func ParseConfigRequest(b []byte) (ConfigRequest, int, error) {
	const what = "config request"
	m, err := configMessage(b, ConfigRequestFixedLen, ConfigFetchRequest, what)
	if err != nil {
		return ConfigRequest{}, 0, err
	}
	le := binary.LittleEndian
	n := int(le.Uint16(m[5:]))
	off := uint64(ConfigRequestFixedLen)
	if uint64(n) > (uint64(len(m))-off)/ConfigKeyFixedLen {
		return ConfigRequest{}, 0, malformed("%s has %d keys, more than its %d bytes can hold", what, n, len(m))
	}
	var r ConfigRequest
	if n > 0 {
		r.Keys = make([]ConfigKey, n)
	}
	for i := range r.Keys {
		if off+ConfigKeyFixedLen > uint64(len(m)) {
			return ConfigRequest{}, 0, malformed("%s key %d runs past total", what, i)
		}
		scope, store := m[off], m[off+1]
		l := uint64(le.Uint32(m[off+2:]))
		off += ConfigKeyFixedLen
		if l > uint64(len(m))-off {
			return ConfigRequest{}, 0, malformed("%s key %d of %d bytes runs past total", what, i, l)
		}
		r.Keys[i] = ConfigKey{Scope: scope, Store: store, Key: string(m[off : off+l])}
		off += l
	}
	if off != uint64(len(m)) {
		return ConfigRequest{}, 0, malformed("%s has %d bytes after its keys", what, uint64(len(m))-off)
	}
	return r, len(m), nil
}

// IndexConfigResponse checks the first message in b and returns where its
// items are, as offsets into b. Errors are as for ParseConfigRequest.
func IndexConfigResponse(b []byte) (ConfigResponseIndex, error) {
	const what = "config response"
	m, err := configMessage(b, ConfigResponseFixedLen, ConfigFetchResponse, what)
	if err != nil {
		return ConfigResponseIndex{}, err
	}
	le := binary.LittleEndian
	x := ConfigResponseIndex{Total: uint32(len(m)), Result: le.Uint32(m[5:])}
	n := int(le.Uint16(m[9:]))
	off := uint64(ConfigResponseFixedLen)
	if uint64(n) > (uint64(len(m))-off)/ConfigItemFixedLen {
		return ConfigResponseIndex{}, malformed("%s has %d items, more than its %d bytes can hold", what, n, len(m))
	}
	if n > 0 {
		x.Items = make([]ConfigItemIndex, n)
	}
	for i := range x.Items {
		if off+ConfigItemFixedLen > uint64(len(m)) {
			return ConfigResponseIndex{}, malformed("%s item %d runs past total", what, i)
		}
		res := m[off]
		l := uint64(le.Uint32(m[off+1:]))
		off += ConfigItemFixedLen
		if l > uint64(len(m))-off {
			return ConfigResponseIndex{}, malformed("%s item %d of %d bytes runs past total", what, i, l)
		}
		x.Items[i] = ConfigItemIndex{Result: res, Value: Span{Off: uint32(off), Len: uint32(l)}}
		off += l
	}
	if off != uint64(len(m)) {
		return ConfigResponseIndex{}, malformed("%s has %d bytes after its items", what, uint64(len(m))-off)
	}
	return x, nil
}

// ParseConfigResponse decodes the first message in b and returns it and its
// length. Values alias b (nil when empty).
func ParseConfigResponse(b []byte) (ConfigResponse, int, error) {
	x, err := IndexConfigResponse(b)
	if err != nil {
		return ConfigResponse{}, 0, err
	}
	r := ConfigResponse{Result: x.Result}
	if len(x.Items) > 0 {
		r.Items = make([]ConfigItem, len(x.Items))
	}
	for i, it := range x.Items {
		r.Items[i] = ConfigItem{Result: it.Result, Value: bytesAt(b, it.Value)}
	}
	return r, int(x.Total), nil
}
