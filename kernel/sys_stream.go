package kernel

import (
	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// The deprecated byte-stream calls, on OPAQUEBYTES channels only (seed 001,
// seed 003). The cloud end of such a channel echoes what it receives.

// maxDataFrame bounds the payload of one DATA frame the kernel sends.
const maxDataFrame = 16 << 10

// ReadChannel is mvReadChannel: writes a pointer to the oldest unread bytes
// of the receive ring and how many can be read there without wrapping.
// spec/abi.md: PARAMETERFAULT, INVALIDHANDLE, CHANNELCLOSED (disconnected
// and nothing left to read; received data stays readable after a
// disconnection).
func (k *Kernel) ReadChannel(h uint32, ptrOut, lenOut mem.Addr) abi.Status {
	if !k.checkW(ptrOut, uint64(k.abi.PointerSize())) || !k.checkW(lenOut, 4) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.channelOfType(h, abi.ChannelTypeOpaqueBytes)
	if !ok {
		return abi.StatusInvalidHandle
	}
	unread := ch.rxWrite - ch.rxRead
	if !ch.connected() && unread == 0 {
		return abi.StatusChannelClosed
	}
	off := uint32(ch.rxRead % uint64(ch.rxLen))
	n := min(uint32(unread), ch.rxLen-off)
	if k.abi.WritePointer(k.mem, ptrOut, ch.rx+mem.Addr(off)) != nil || k.put32(lenOut, n) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// ReadChannelComplete is mvReadChannelComplete: frees consumed bytes of the
// receive ring (more than are unread is clamped to what is unread) and
// returns them to the cloud as credit. If data remains, a further
// CHANNELDATAREADABLE is posted. spec/abi.md: INVALIDHANDLE, CHANNELCLOSED.
func (k *Kernel) ReadChannelComplete(h uint32, consumed uint32) abi.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.channelOfType(h, abi.ChannelTypeOpaqueBytes)
	if !ok {
		return abi.StatusInvalidHandle
	}
	unread := ch.rxWrite - ch.rxRead
	if !ch.connected() && unread == 0 {
		return abi.StatusChannelClosed
	}
	n := min(uint64(consumed), unread)
	ch.rxRead += n
	if ch.connected() && n > 0 {
		k.sendLocked(ch.conn, &link.Frame{Type: link.FrameCredit, Chan: ch.h, Credit: uint32(n)})
	}
	if ch.rxWrite > ch.rxRead {
		k.postLocked(ch.nh, ch.tag, abi.EventTypeChannelDataReadable)
	}
	return abi.StatusOkay
}

// WriteChannel is mvWriteChannel: all or nothing. length 0 asks for the free
// space. spec/abi.md, in this order (abi/calls.go): PARAMETERFAULT,
// INVALIDHANDLE, CHANNELCLOSED, INVALIDBUFFERSIZE (does not fit; nothing
// written, free space reported), LATEFAULT (available unwritable after the
// data was queued; with nothing queued an unwritable available is a
// pointer fault before anything happened, PARAMETERFAULT — seed 003).
func (k *Kernel) WriteChannel(h uint32, data mem.Addr, length uint32, availableOut mem.Addr) abi.Status {
	return k.write(h, data, length, availableOut, false)
}

// WriteChannelStream is mvWriteChannelStream: writes as much as fits and
// reports how much. spec/abi.md: PARAMETERFAULT, INVALIDHANDLE,
// CHANNELCLOSED, LATEFAULT.
func (k *Kernel) WriteChannelStream(h uint32, data mem.Addr, length uint32, writtenOut mem.Addr) abi.Status {
	return k.write(h, data, length, writtenOut, true)
}

func (k *Kernel) write(h uint32, data mem.Addr, length uint32, out mem.Addr, stream bool) abi.Status {
	if !k.checkR(data, uint64(length)) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.channelOfType(h, abi.ChannelTypeOpaqueBytes)
	if !ok {
		return abi.StatusInvalidHandle
	}
	if !ch.connected() {
		return abi.StatusChannelClosed
	}
	free := uint32(uint64(ch.txLen) - (ch.txWrite - ch.txAcked))
	n := length
	if n > free {
		if !stream {
			if k.put32(out, free) != nil {
				return abi.StatusParameterFault
			}
			return abi.StatusInvalidBufferSize
		}
		n = free
	}
	if n == 0 {
		report := free
		if stream {
			report = 0
		}
		if k.put32(out, report) != nil {
			return abi.StatusParameterFault
		}
		return abi.StatusOkay
	}
	buf := k.scratchLocked(int(n))
	if k.mem.CopyIn(buf, data) != nil {
		return abi.StatusParameterFault
	}
	k.txAppendLocked(ch, buf)
	report := n
	if !stream {
		report = free - n
	}
	if k.put32(out, report) != nil {
		return abi.StatusLateFault
	}
	return abi.StatusOkay
}

// txAppendLocked puts p into the send ring and sends it to the cloud. The
// bytes occupy the ring until the cloud credits them back.
func (k *Kernel) txAppendLocked(ch *channel, p []byte) {
	k.ringWrite(ch.tx, ch.txLen, ch.txWrite, p)
	ch.txWrite += uint64(len(p))
	for len(p) > 0 {
		c := min(len(p), maxDataFrame)
		k.sendLocked(ch.conn, &link.Frame{Type: link.FrameData, Chan: ch.h, Payload: p[:c]})
		p = p[c:]
	}
}
