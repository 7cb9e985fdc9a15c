package kernel

import (
	"context"
	"encoding/binary"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// Server logging (seed 002, "Application logging"). mvServerLoggingInit
// hands the kernel a log buffer in application memory; mvServerLog appends
// one line to it and sends it to the cloud in a LOG frame over whatever
// link is up — Microvisor's own link before the application first
// requests a network, the application's afterwards. A line stays in the
// buffer until the cloud's LOGACK says it is stored; on every new link the
// lines not yet acknowledged are sent again, in order, before any new one.
// Lines are numbered from a random 64-bit value chosen at boot, one more
// per line, and the cloud's store deduplicates on (device, seq): each line
// is stored exactly once, in order.
//
// The buffer is a ring of records len u16 (little endian) | text, wrapping
// at its end; a record occupies 2 + len bytes until acknowledged. The
// kernel owns the buffer once given: on memory that can be protected it is
// write-protected, like a channel's send buffer.

// Server logging limits (mvnet's choices; spec/abi.md gives none).
const (
	// logBufferUnit: the log buffer must be 512-byte aligned
	// (INVALIDBUFFERALIGNMENT) and a non-zero multiple of 512 bytes
	// (INVALIDBUFFERSIZE), like channel buffers.
	logBufferUnit = 512
	// maxLogMessage is the longest line mvServerLog accepts, in bytes;
	// longer is LOGMESSAGETOOLONG. The link's limit on a LOG frame.
	maxLogMessage = link.MaxLogLine
	// logRecordHeader is the per-line overhead in the buffer.
	logRecordHeader = 2
)

// logState is the kernel's server logging state, guarded by k.mu.
type logState struct {
	init     bool
	buf      mem.Addr
	size     uint32
	head     uint64   // ring offset (mod size) of the oldest record
	used     uint64   // bytes held by unacknowledged records
	lens     []uint16 // lengths of the lines held, oldest first
	first    uint64   // seq of lens[0]
	next     uint64   // seq of the next line
	sent     int      // lines of lens already sent on the current link
	disabled bool     // the cloud said CONTROL LOGGING 0
	// acked, made by WaitLogsAcked while lines are pending, is closed
	// when the last of them is acknowledged.
	acked chan struct{}
}

// ServerLoggingInit is mvServerLoggingInit. spec/abi.md: PARAMETERFAULT
// (the buffer is not the application's writable memory, overlaps a channel
// or notification ring, or logging was initialised with another buffer);
// INVALIDBUFFERALIGNMENT (not 512-byte aligned); INVALIDBUFFERSIZE (not a
// non-zero multiple of 512). Repeating the call with the same buffer and
// length does nothing and succeeds.
func (k *Kernel) ServerLoggingInit(buf mem.Addr, length uint32) abi.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.logs.init {
		// The buffer given is write-protected now: compare, do not probe.
		if k.logs.buf == buf && k.logs.size == length {
			return abi.StatusOkay
		}
		return abi.StatusParameterFault
	}
	if !k.checkW(buf, uint64(length)) {
		return abi.StatusParameterFault
	}
	if k.bufferInUseLocked(buf, uint64(length)) {
		return abi.StatusParameterFault
	}
	if buf%logBufferUnit != 0 {
		return abi.StatusInvalidBufferAlignment
	}
	if length == 0 || length%logBufferUnit != 0 {
		return abi.StatusInvalidBufferSize
	}
	if k.prot != nil {
		if err := mem.ProtectAs(k.prot, buf, uint64(length), "server log buffer"); err != nil {
			return abi.StatusParameterFault
		}
	}
	k.logs.init = true
	k.logs.buf, k.logs.size = buf, length
	k.logs.first, k.logs.next = k.logSeqStart, k.logSeqStart
	return abi.StatusOkay
}

// ServerLog is mvServerLog. spec/abi.md order: UNAVAILABLE (logging not
// initialised); PARAMETERFAULT (message); INVALIDBUFFERSIZE (no room left
// in the log buffer for 2 + length bytes); LOGMESSAGETOOLONG (over 512
// bytes); LOGGINGDISABLEDBYSERVER (the cloud disabled logging for the
// device).
func (k *Kernel) ServerLog(msg mem.Addr, length uint16) abi.Status {
	k.mu.Lock()
	initialised := k.logs.init
	k.mu.Unlock()
	if !initialised {
		return abi.StatusUnavailable
	}
	// Checked, not copied: the message is copied once it is known to fit.
	if !k.checkR(msg, uint64(length)) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l := &k.logs
	if logRecordHeader+uint64(length) > uint64(l.size)-l.used {
		return abi.StatusInvalidBufferSize
	}
	if length > maxLogMessage {
		return abi.StatusLogMessageTooLong
	}
	if l.disabled {
		return abi.StatusLoggingDisabledByServer
	}
	rec := make([]byte, logRecordHeader+uint64(length))
	binary.LittleEndian.PutUint16(rec, length)
	text := rec[logRecordHeader:]
	if k.mem.CopyIn(text, msg) != nil {
		return abi.StatusParameterFault // the memory changed since the check
	}
	k.ringWrite(l.buf, l.size, l.head+l.used, rec)
	l.used += uint64(len(rec))
	l.lens = append(l.lens, length)
	seq := l.next
	l.next++
	if k.conn != nil && l.sent == len(l.lens)-1 {
		k.sendLocked(k.conn, &link.Frame{Type: link.FrameLog, Seq: seq, Payload: text})
		l.sent++
	}
	return abi.StatusOkay
}

// logLinkUpLocked sends, on the new link, every line not yet acknowledged,
// oldest first.
func (k *Kernel) logLinkUpLocked(c *link.Conn) {
	l := &k.logs
	l.sent = 0
	off := l.head
	for i, n := range l.lens {
		text := make([]byte, n)
		k.ringRead(l.buf, l.size, off+logRecordHeader, text)
		k.sendLocked(c, &link.Frame{Type: link.FrameLog, Seq: l.first + uint64(i), Payload: text})
		off = (off + logRecordHeader + uint64(n)) % uint64(l.size)
	}
	l.sent = len(l.lens)
}

// logAckLocked drops the lines up to and including seq from the buffer. An
// acknowledgement of lines not held (stale, or not yet sent) is ignored.
func (k *Kernel) logAckLocked(seq uint64) {
	l := &k.logs
	n := seq - l.first + 1 // wraps like the sequence numbers
	if n == 0 || n > uint64(l.sent) {
		return
	}
	for _, ln := range l.lens[:n] {
		rec := logRecordHeader + uint64(ln)
		l.head = (l.head + rec) % uint64(l.size)
		l.used -= rec
	}
	l.lens = append(l.lens[:0], l.lens[n:]...)
	l.first += n
	l.sent -= int(n)
	if len(l.lens) == 0 && l.acked != nil {
		close(l.acked)
		l.acked = nil
	}
}

// LastLogSeq is the sequence number of the line the last mvServerLog that
// returned OKAY accepted: the seq of its LOG frame and of the line the
// cloud stores (a trace pairs the call with the stored line by it).
func (k *Kernel) LastLogSeq() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.logs.next - 1
}

// LogsPending is the number of lines mvServerLog accepted that the cloud
// has not acknowledged yet (LOGACK): held in the log buffer, to be sent
// again on the next link.
func (k *Kernel) LogsPending() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.logs.lens)
}

// WaitLogsAcked waits until the cloud has acknowledged every line
// mvServerLog accepted (LogsPending is 0), or ctx ends (its error then).
func (k *Kernel) WaitLogsAcked(ctx context.Context) error {
	k.mu.Lock()
	if len(k.logs.lens) == 0 {
		k.mu.Unlock()
		return nil
	}
	if k.logs.acked == nil {
		k.logs.acked = make(chan struct{})
	}
	acked := k.logs.acked
	k.mu.Unlock()
	select {
	case <-acked:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
