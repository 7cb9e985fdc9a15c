package kernel

import (
	"fmt"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// Config fetch (CONFIGFETCH channels). The request is encoded into the send
// ring (link/config.go) and relayed; the cloud answers every key from its
// config and secret stores, in request order, and the response lands in the
// receive ring, from which the read calls copy. One request per channel.

// Config fetch limits (mvnet's choices; spec/abi.md gives none), shared
// with the cloud through package abi.
const (
	maxConfigKeys   = abi.MaxConfigKeys   // more is TOOMANYCONFIGKEYS
	maxConfigKeyLen = abi.MaxConfigKeyLen // longer is INVALIDCONFIGKEY
)

// validConfigKey reports whether key is 1–maxConfigKeyLen bytes of
// printable ASCII (0x20–0x7e; spec/abi.md: "keys are printable ASCII
// only").
func validConfigKey(key []byte) bool {
	if len(key) == 0 || len(key) > maxConfigKeyLen {
		return false
	}
	for _, c := range key {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// SendConfigFetchRequest is mvSendConfigFetchRequest. spec/abi.md order:
// PARAMETERFAULT (the params structure); LATEFAULT (the key array or a
// key's bytes are bad — the channel is left unusable); INVALIDHANDLE (not
// a CONFIGFETCH channel); INVALIDBUFFERSIZE (the encoded request exceeds
// the send buffer — with more than 16 keys, on the count of their fixed
// parts alone); CHANNELCLOSED; REQUESTALREADYSENT; then the key checks
// TOOMANYCONFIGKEYS (more than 16), UNKNOWNCONFIGSCOPE, UNKNOWNCONFIGSTORE,
// INVALIDCONFIGKEY (empty, over 100 bytes, or not printable ASCII), each
// over all keys before the next. A rejected request is not issued.
func (k *Kernel) SendConfigFetchRequest(h uint32, paramsPtr mem.Addr) abi.Status {
	p, err := k.abi.ReadConfigKeyFetchParams(k.mem, paramsPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	tooMany := p.NumItems > maxConfigKeys
	var keyArr [maxConfigKeys]abi.ConfigKeyToFetch
	var keys []abi.ConfigKeyToFetch
	late := false
	if !tooMany && p.NumItems > 0 {
		keys, err = k.abi.ReadConfigKeysToFetch(k.mem, p.KeysToFetch, p.NumItems, keyArr[:0])
		late = err != nil
		// Every key's bytes are checked, not copied: nothing is
		// allocated from an application's length before it is bounded.
		for _, kf := range keys {
			late = late || !k.checkR(kf.Key.Data, uint64(kf.Key.Length))
		}
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.channelOfType(h, abi.ChannelTypeConfigFetch)
	if late {
		if ok && !ch.reqSent {
			ch.unusable = true
		}
		return abi.StatusLateFault
	}
	if !ok {
		return abi.StatusInvalidHandle
	}
	// The encoded size from the lengths (link.ConfigRequestSize). An
	// array over the limit is not followed: its keys count their fixed
	// parts only, a lower bound, as mvSendHttpRequest counts headers.
	size := uint64(link.ConfigRequestFixedLen)
	if tooMany {
		size += link.ConfigKeyFixedLen * uint64(p.NumItems)
	}
	for _, kf := range keys {
		size += link.ConfigKeyFixedLen + uint64(kf.Key.Length)
	}
	if size > uint64(ch.txLen) {
		return abi.StatusInvalidBufferSize
	}
	switch {
	case !ch.connected() || ch.unusable:
		return abi.StatusChannelClosed
	case ch.reqSent:
		return abi.StatusRequestAlreadySent
	case tooMany:
		return abi.StatusTooManyConfigKeys
	}
	for _, kf := range keys {
		if kf.Scope > abi.ConfigKeyFetchScopeDevice {
			return abi.StatusUnknownConfigScope
		}
	}
	for _, kf := range keys {
		if kf.Store > abi.ConfigKeyFetchStoreConfig {
			return abi.StatusUnknownConfigStore
		}
	}
	for _, kf := range keys {
		if kf.Key.Length == 0 || kf.Key.Length > maxConfigKeyLen {
			return abi.StatusInvalidConfigKey
		}
	}
	// Each key is now at most maxConfigKeyLen bytes.
	req := link.ConfigRequest{Keys: make([]link.ConfigKey, len(keys))}
	for i, kf := range keys {
		name, err := k.copyIn(kf.Key)
		if err != nil {
			ch.unusable = true // the memory changed under us since the checks
			return abi.StatusLateFault
		}
		if !validConfigKey(name) {
			return abi.StatusInvalidConfigKey
		}
		req.Keys[i] = link.ConfigKey{Scope: uint8(kf.Scope), Store: uint8(kf.Store), Key: string(name)}
	}
	enc := link.AppendConfigRequest(k.scratchLocked(0), &req)
	k.scratch = enc[:0]
	ch.reqSent = true
	ch.cfgKeys = len(req.Keys)
	k.txAppendLocked(ch, enc)
	return abi.StatusOkay
}

// onConfigDataLocked collects a config response in the receive ring (it
// starts at the ring's start: one request per channel) and, once whole,
// indexes it and notifies the application. A response that claims more
// than the ring, or is malformed, ends the channel: the cloud must answer
// RESPONSETOOLARGE instead. So does a response that does not answer every
// key requested, one item each (link/config.go: "its items answer the
// request's keys in request order"), or a RESPONSETOOLARGE with items:
// the application then sees CHANNELNOTCONNECTED and the read calls answer
// CHANNELCLOSED, never an item that answers no key or a key left
// unanswered.
func (k *Kernel) onConfigDataLocked(ch *channel, p []byte) error {
	if ch.cfg != nil || !ch.reqSent {
		return fmt.Errorf("channel %#x: unexpected config data", ch.h)
	}
	k.collectResponseLocked(ch, p, link.ConfigResponseFixedLen, "config", func(buf []byte) error {
		idx, err := link.IndexConfigResponse(buf)
		if err != nil {
			return err
		}
		if err := checkConfigItems(&idx, ch.cfgKeys); err != nil {
			return err
		}
		ch.cfg = &idx
		return nil
	})
	return nil
}

// checkConfigItems checks that a response answers a request for keys keys:
// one item per key, or none with RESPONSETOOLARGE.
func checkConfigItems(idx *link.ConfigResponseIndex, keys int) error {
	want := keys
	if abi.ConfigFetchResult(idx.Result) == abi.ConfigFetchResultResponseTooLarge {
		want = 0
	}
	if len(idx.Items) != want {
		return fmt.Errorf("config response (result %d) has %d items for %d keys", idx.Result, len(idx.Items), keys)
	}
	return nil
}

// configResponseLocked finds the response on a CONFIGFETCH channel, or the
// status explaining why there is none. notFound is the status for a handle
// that is no CONFIGFETCH channel.
func (k *Kernel) configResponseLocked(h uint32, notFound abi.Status) (*channel, abi.Status) {
	ch, ok := k.channelOfType(h, abi.ChannelTypeConfigFetch)
	if !ok {
		return nil, notFound
	}
	return ch, ch.responseStatus(ch.cfg != nil)
}

// ReadConfigFetchResponseData is mvReadConfigFetchResponseData.
// spec/abi.md: PARAMETERFAULT, CHANNELCLOSED, RESPONSENOTPRESENT. The call
// lists no INVALIDHANDLE: a handle that is not an open CONFIGFETCH channel
// is a wrong argument, PARAMETERFAULT.
func (k *Kernel) ReadConfigFetchResponseData(h uint32, out mem.Addr) abi.Status {
	if !k.checkW(out, uint64(k.abi.ConfigResponseDataSize())) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	ch, st := k.configResponseLocked(h, abi.StatusParameterFault)
	var d abi.ConfigResponseData
	if st == abi.StatusOkay {
		d = abi.ConfigResponseData{Result: abi.ConfigFetchResult(ch.cfg.Result), NumItems: uint32(len(ch.cfg.Items))}
	}
	k.mu.Unlock()
	if st != abi.StatusOkay {
		return st
	}
	if k.abi.WriteConfigResponseData(k.mem, out, d) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// ReadConfigResponseItem is mvReadConfigResponseItem: writes item
// item_index's MvConfigKeyFetchResult through result, copies its value into
// buf.data and its length through buf.length. In abi/calls.go's order:
// PARAMETERFAULT (params, result, buf.data for buf.size bytes, buf.length),
// INVALIDHANDLE, CHANNELCLOSED, RESPONSENOTPRESENT, INDEXINVALID. A value longer than
// buf.size is PARAMETERFAULT (the call lists no INVALIDBUFFERSIZE) and
// nothing is written; items stay readable, in any order, any number of
// times.
func (k *Kernel) ReadConfigResponseItem(h uint32, paramsPtr mem.Addr) abi.Status {
	p, err := k.abi.ReadConfigResponseReadItemParams(k.mem, paramsPtr)
	if err != nil || !k.checkW(p.Result, 4) || !k.checkW(p.Buf.Data, uint64(p.Buf.Size)) || !k.checkW(p.Buf.Length, 4) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.configResponseLocked(h, abi.StatusInvalidHandle)
	if st != abi.StatusOkay {
		return st
	}
	if uint64(p.ItemIndex) >= uint64(len(ch.cfg.Items)) {
		return abi.StatusIndexInvalid
	}
	it := ch.cfg.Items[p.ItemIndex]
	if it.Value.Len > p.Buf.Size {
		return abi.StatusParameterFault
	}
	if k.copyWithin(p.Buf.Data, ch.rx+mem.Addr(it.Value.Off), uint64(it.Value.Len)) != nil ||
		k.put32(p.Buf.Length, it.Value.Len) != nil || k.put32(p.Result, uint32(it.Result)) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}
