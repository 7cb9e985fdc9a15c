package kernel

import (
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// channel is one open channel: a send ring and a receive ring in
// application memory, and the link it was opened on.
type channel struct {
	h     uint32
	typ   abi.ChannelType
	nh    uint32 // notification centre
	tag   uint32
	net   uint32 // network handle it was opened on
	rx    mem.Addr
	rxLen uint32
	tx    mem.Addr
	txLen uint32

	conn   *link.Conn        // nil once disconnected
	reason abi.ClosureReason // why it is disconnected (NONE while connected)

	// Receive ring: bytes [rxRead, rxWrite) (counted from the start of the
	// channel's life) are unread; the ring offset is the count mod rxLen.
	rxRead, rxWrite uint64
	// Send ring: bytes [txAcked, txWrite) are in the ring, sent to the
	// cloud and not yet credited back.
	txAcked, txWrite uint64

	// HTTP state.
	reqSent  bool                    // a request was accepted (one per channel)
	unusable bool                    // a LATEFAULT left the channel unusable
	resp     *link.HTTPResponseIndex // the response, once wholly received (&respIdx)
	respIdx  link.HTTPResponseIndex  // resp's storage: no allocation of its own

	// CONFIGFETCH state (reqSent and unusable too).
	cfg     *link.ConfigResponseIndex // the response, once wholly received
	cfgKeys int                       // keys the request asked for

	mqtt *mqttChan // MQTT channels only (sys_mqtt.go)

	diag string // the cloud's last CONTROL DIAG for the channel (events.go)
}

func (ch *channel) connected() bool { return ch.conn != nil }

// answered reports whether ch is an HTTP or CONFIGFETCH channel whose one
// response has been received whole: the cloud has forgotten it, so
// closing it sends no CLOSE (link/doc.go, "Channels").
func (ch *channel) answered() bool {
	return ch.resp != nil || ch.cfg != nil
}

// responseStatus is what a read call of an HTTP or CONFIGFETCH channel's
// one response answers, present telling whether the response is wholly
// received: OKAY; else CHANNELCLOSED once the channel is disconnected or
// made unusable, else RESPONSENOTPRESENT. A response received stays
// readable after a disconnection, so CHANNELCLOSED is checked before
// RESPONSENOTPRESENT (abi/calls.go).
func (ch *channel) responseStatus(present bool) abi.Status {
	switch {
	case present:
		return abi.StatusOkay
	case !ch.connected() || ch.unusable:
		return abi.StatusChannelClosed
	}
	return abi.StatusResponseNotPresent
}

// OpenChannel is mvOpenChannel. spec/abi.md order: PARAMETERFAULT (params,
// any pointer in it, or handle); INVALIDHANDLE (notification or network
// handle); INVALIDBUFFERALIGNMENT; INVALIDBUFFERSIZE; UNKNOWNCHANNELENDPOINT;
// UNKNOWNCHANNELTYPE; NETWORKNOTCONNECTED; RATELIMITED; TOOMANYCHANNELS.
// (UNAVAILABLE, also listed, never arises: every channel type is served.)
func (k *Kernel) OpenChannel(params, handleOut mem.Addr) abi.Status {
	p, err := k.abi.ReadOpenChannelParams(k.mem, params)
	if err != nil || !k.checkW(handleOut, uint64(k.abi.HandleSize())) {
		return abi.StatusParameterFault
	}
	// spec/abi.md lists no UNSUPPORTEDSTRUCTUREVERSION for this call: a
	// version other than 1 is a wrong field, reported as PARAMETERFAULT.
	if p.Version != networkParamVersion ||
		!k.checkW(p.ReceiveBuffer, uint64(p.ReceiveBufferLen)) ||
		!k.checkW(p.SendBuffer, uint64(p.SendBufferLen)) ||
		!k.checkR(p.Endpoint.Data, uint64(p.Endpoint.Length)) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.buffersInUseLocked(p.ReceiveBuffer, p.ReceiveBufferLen, p.SendBuffer, p.SendBufferLen) {
		// The rings must be memory the application can hand over to the
		// kernel; spec/abi.md has no BUFFERALREADYINUSE for this call.
		return abi.StatusParameterFault
	}
	if _, ok := k.centres[p.NotificationHandle]; !ok {
		return abi.StatusInvalidHandle
	}
	nw, ok := k.nets[p.NetworkHandle]
	if !ok {
		return abi.StatusInvalidHandle
	}
	// spec/abi.md: the send buffer — and for HTTP and MQTT the receive
	// buffer — is 512-byte aligned and a multiple of 512 bytes. The current
	// networking guide (seed 002, "Buffers must be sized in multiples of
	// 512 bytes…") states the rule for every channel type it covers, so
	// CONFIGFETCH follows it too; only the deprecated OPAQUEBYTES receive
	// ring is free.
	ringed := p.ChannelType == abi.ChannelTypeHTTP || p.ChannelType == abi.ChannelTypeMQTT ||
		p.ChannelType == abi.ChannelTypeConfigFetch
	if p.SendBuffer%channelBufferUnit != 0 || (ringed && p.ReceiveBuffer%channelBufferUnit != 0) {
		return abi.StatusInvalidBufferAlignment
	}
	if p.SendBufferLen == 0 || p.SendBufferLen%channelBufferUnit != 0 || p.ReceiveBufferLen == 0 ||
		(ringed && p.ReceiveBufferLen%channelBufferUnit != 0) {
		return abi.StatusInvalidBufferSize
	}
	if p.Endpoint.Length != maxEndpointLen {
		return abi.StatusUnknownChannelEndpoint
	}
	switch p.ChannelType {
	case abi.ChannelTypeOpaqueBytes, abi.ChannelTypeHTTP, abi.ChannelTypeMQTT, abi.ChannelTypeConfigFetch:
	default:
		return abi.StatusUnknownChannelType
	}
	if nw.status != abi.NetworkStatusConnected || k.conn == nil {
		return abi.StatusNetworkNotConnected
	}
	now := k.mono()
	if !k.opts.NoOpenRateLimit && k.opensN == maxOpensPerSecond && now-k.opens[0] < time.Second {
		// The oldest of the last eight opens was under a second ago.
		return abi.StatusRateLimited
	}
	if len(k.chans) >= maxChannels {
		return abi.StatusTooManyChannels
	}
	if k.prot != nil {
		if err := mem.ProtectAs(k.prot, p.SendBuffer, uint64(p.SendBufferLen), "open channel's send buffer"); err != nil {
			return abi.StatusParameterFault
		}
	}
	h := k.newHandleLocked()
	if k.abi.WriteHandle(k.mem, handleOut, h) != nil {
		k.freeHandleLocked(h)
		if k.prot != nil {
			k.prot.Unprotect(p.SendBuffer, uint64(p.SendBufferLen))
		}
		return abi.StatusParameterFault
	}
	k.recordOpenLocked(now)
	ch := &channel{
		h: h, typ: p.ChannelType, nh: p.NotificationHandle, tag: p.NotificationTag, net: p.NetworkHandle,
		rx: p.ReceiveBuffer, rxLen: p.ReceiveBufferLen, tx: p.SendBuffer, txLen: p.SendBufferLen,
		conn: k.conn,
	}
	if ch.typ == abi.ChannelTypeMQTT {
		ch.mqtt = &mqttChan{}
	}
	k.chans[h] = ch
	k.sendLocked(ch.conn, &link.Frame{Type: link.FrameOpen, Chan: h, ChanType: uint8(ch.typ), RxSize: ch.rxLen, TxSize: ch.txLen})
	return abi.StatusOkay
}

// recordOpenLocked remembers the time of a successful open for the
// eight-per-second rate limit.
func (k *Kernel) recordOpenLocked(now time.Duration) {
	if k.opensN < maxOpensPerSecond {
		k.opens[k.opensN] = now
		k.opensN++
		return
	}
	// Shift: the ring is small, keep it ordered oldest first.
	copy(k.opens[:], k.opens[1:])
	k.opens[maxOpensPerSecond-1] = now
}

// CloseChannel is mvCloseChannel: PARAMETERFAULT, INVALIDHANDLE. The send
// buffer is zeroed and unprotected, the cloud is told (unless it has
// forgotten the channel: a request channel whose response is whole), and
// the handle is zeroed through the pointer.
func (k *Kernel) CloseChannel(handlePtr mem.Addr) abi.Status {
	return closeHandle(k, handlePtr, k.chans, func(h uint32, ch *channel) {
		if ch.connected() {
			if !ch.answered() {
				k.sendLocked(ch.conn, &link.Frame{Type: link.FrameClose, Chan: h, Reason: uint8(abi.ClosureReasonClosedByApplication)})
			}
			ch.conn = nil
		}
		_ = k.kmem.Zero(ch.tx, uint64(ch.txLen))
		if k.prot != nil {
			_ = k.prot.Unprotect(ch.tx, uint64(ch.txLen))
		}
	})
}

// GetChannelClosureReason is mvGetChannelClosureReason: PARAMETERFAULT,
// INVALIDHANDLE. NONE while the channel is connected.
func (k *Kernel) GetChannelClosureReason(h uint32, out mem.Addr) abi.Status {
	return readAttr(k, h, out, k.chans, func(ch *channel) uint32 { return uint32(ch.reason) })
}

// disconnectLocked ends a channel's connection: no more data will arrive and
// sends fail, but received data stays readable. It posts CHANNELNOTCONNECTED
// and, if tell is set and the link is up, tells the cloud.
func (k *Kernel) disconnectLocked(ch *channel, reason abi.ClosureReason, tell bool) {
	if !ch.connected() {
		return
	}
	if tell {
		k.sendLocked(ch.conn, &link.Frame{Type: link.FrameClose, Chan: ch.h, Reason: uint8(reason)})
	}
	ch.conn = nil
	ch.reason = reason
	if ch.mqtt != nil {
		// Requests in flight complete as NOTCONNECTED before the news.
		k.mqttDisconnectedLocked(ch)
	}
	k.postLocked(ch.nh, ch.tag, abi.EventTypeChannelNotConnected)
}

// channelOfType returns the channel h if it exists and has type t.
func (k *Kernel) channelOfType(h uint32, t abi.ChannelType) (*channel, bool) {
	ch, ok := k.chans[h]
	if !ok || ch.typ != t {
		return nil, false
	}
	return ch, true
}

// buffersInUseLocked reports whether a new channel's rings overlap each
// other, another channel's rings or a notification ring: the kernel writes
// into all of them, so sharing would corrupt one with the other.
func (k *Kernel) buffersInUseLocked(rx mem.Addr, rxLen uint32, tx mem.Addr, txLen uint32) bool {
	return rangesOverlap(rx, uint64(rxLen), tx, uint64(txLen)) ||
		k.bufferInUseLocked(rx, uint64(rxLen)) || k.bufferInUseLocked(tx, uint64(txLen))
}
