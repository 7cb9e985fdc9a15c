package gdb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Replies the protocol fixes.
const (
	replyOK          = "OK"
	replyErr         = "E01" // any failure: bad address, bad argument
	replyUnsupported = ""    // an empty reply: "I do not know this packet"
	// threadID is the one thread the stub reports (the protocol needs one;
	// the core has no other).
	threadID = "1"
)

// supported is the qSupported reply: what the stub offers beyond the basics.
var supported = fmt.Sprintf("PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+", maxPacket)

// handle answers one packet. ok=false means no reply is sent ('k').
func (s *session) handle(p []byte) (reply string, ok bool) {
	if len(p) == 0 {
		return replyUnsupported, true
	}
	args := string(p[1:])
	switch p[0] {
	case '?':
		return s.stopReply(s.last), true
	case 'g':
		return s.readRegisters(), true
	case 'G':
		return s.writeRegisters(args), true
	case 'p':
		return s.readRegister(args), true
	case 'P':
		return s.writeRegister(args), true
	case 'm':
		return s.readMemory(args), true
	case 'M':
		return s.writeMemoryHex(args), true
	case 'X':
		return s.writeMemoryBinary(p[1:]), true
	case 'c', 's':
		return s.resumeReply(p[0] == 's', args), true
	case 'C', 'S':
		// "C sig[;addr]": the signal is meaningless to the core.
		_, addr, _ := strings.Cut(args, ";")
		return s.resumeReply(p[0] == 'S', addr), true
	case 'Z', 'z':
		return s.breakpoint(p[0] == 'Z', args), true
	case 'H':
		return replyOK, true // one thread: every thread selection is it
	case 'T':
		return replyOK, true // thread alive
	case 'D':
		// The caller detaches after replying; a debugger that connects
		// as soon as it has our OK is served next, not refused.
		s.over = true
		s.ending()
		return replyOK, true
	case 'k':
		s.kill()
		return "", false // gdb expects no reply to 'k'
	case 'q', 'Q':
		if string(p) == "QStartNoAckMode" {
			// Our OK is still acknowledged; afterwards neither side acks.
			if err := s.w.send([]byte(replyOK)); err != nil {
				s.over = true
			}
			s.w.txNoAck = true
			return "", false
		}
		return s.query(string(p)), true
	case 'v':
		return s.vPacket(string(p)), true
	}
	return replyUnsupported, true
}

func (s *session) kill() {
	s.ending()
	s.t.Kill()
	s.end = endTargetGone
	s.over = true
}

func (s *session) query(p string) string {
	switch {
	case strings.HasPrefix(p, "qSupported"):
		return supported
	case strings.HasPrefix(p, "qXfer:features:read:"):
		return s.features(strings.TrimPrefix(p, "qXfer:features:read:"))
	case p == "qAttached":
		// "1": gdb attached to a running program, so quitting gdb detaches
		// and the firmware runs on rather than being killed.
		return "1"
	case p == "qC":
		return "QC" + threadID
	case p == "qfThreadInfo":
		return "m" + threadID
	case p == "qsThreadInfo":
		return "l"
	case p == "qOffsets":
		return "Text=0;Data=0;Bss=0"
	case p == "qSymbol::":
		return replyOK
	case strings.HasPrefix(p, "qCRC:"):
		return s.crc(strings.TrimPrefix(p, "qCRC:"))
	case strings.HasPrefix(p, "qRcmd,"):
		return s.monitor(strings.TrimPrefix(p, "qRcmd,"))
	}
	return replyUnsupported
}

func (s *session) vPacket(p string) string {
	switch {
	case p == "vCont?":
		return "vCont;c;C;s;S"
	case strings.HasPrefix(p, "vCont;"):
		step, ok := vContAction(strings.TrimPrefix(p, "vCont;"))
		if !ok {
			return replyErr
		}
		return s.resumeReply(step, "")
	case strings.HasPrefix(p, "vKill"):
		s.kill()
		return replyOK
	case p == "vMustReplyEmpty":
		return replyUnsupported
	}
	return replyUnsupported
}

// vContAction picks the action for our one thread from a vCont action list
// ("s:1;c" = step thread 1, continue the others): the first action whose
// thread is absent, -1 (all), 0 (any) or ours.
func vContAction(list string) (step, ok bool) {
	for _, a := range strings.Split(list, ";") {
		act, thread, hasThread := strings.Cut(a, ":")
		if hasThread {
			// Thread ids may be "p1.1" with multiprocess; we announced none.
			thread = strings.TrimPrefix(thread, "p1.")
			if thread != "-1" && thread != "0" && thread != threadID {
				continue
			}
		}
		if act == "" {
			return false, false
		}
		switch act[0] {
		case 'c', 'C':
			return false, true
		case 's', 'S':
			return true, true
		}
		return false, false
	}
	return false, false
}

// resumeReply steps or continues from the current PC (or from addr when
// the packet gives one: "c addr") and returns the stop reply. A fault's
// description is sent first as console output ('O'), which gdb prints.
func (s *session) resumeReply(step bool, addr string) string {
	if s.last.Kind == StopExited {
		return s.stopReply(s.last)
	}
	if addr != "" {
		a, err := strconv.ParseUint(addr, 16, 32)
		if err != nil {
			return replyErr
		}
		if err := s.writeReg(PC, uint32(a)); err != nil {
			return replyErr
		}
	}
	st, err := s.resume(step)
	if err != nil {
		s.over = true
		return ""
	}
	if st.Detail != "" {
		out := "O" + hex.EncodeToString([]byte(st.Detail+"\n"))
		if err := s.w.send([]byte(out)); err != nil {
			s.over = true
		}
	}
	return s.stopReply(st)
}

// stopReply renders a stop as gdb's T (or W) packet, with the reason the
// remote protocol names: swbreak/hwbreak for the breakpoints gdb inserted,
// watch/rwatch/awatch with the data address.
func (s *session) stopReply(st Stop) string {
	if st.Kind == StopExited {
		return fmt.Sprintf("W%02x", st.Code)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "T%02x", st.SignalOf())
	switch st.Kind {
	case StopBreakpoint:
		kinds := s.breaks[s.t.ReadRegister(PC)&^1]
		switch {
		case kinds&(1<<Software) != 0:
			b.WriteString("swbreak:;")
		case kinds&(1<<Hardware) != 0:
			b.WriteString("hwbreak:;")
		}
	case StopWatchpoint:
		kind := st.Watch
		if kind == 0 {
			kind = s.watchKindAt(st.Addr)
		}
		fmt.Fprintf(&b, "%s:%x;", watchReason[kind], st.Addr)
	}
	b.WriteString("thread:" + threadID + ";")
	return b.String()
}

var watchReason = map[WatchKind]string{WatchWrite: "watch", WatchRead: "rwatch", WatchAccess: "awatch", 0: "awatch"}

// watchKindAt finds the kind of an inserted watchpoint covering addr, for
// a target that could not tell (preferring write, then access, then read).
func (s *session) watchKindAt(addr uint32) WatchKind {
	var found WatchKind
	for w := range s.watches {
		if addr-w.addr < w.n && (found == 0 || w.kind < found) {
			found = w.kind
		}
	}
	return found
}

// breakpoint handles Z/z type,addr,kind.
func (s *session) breakpoint(insert bool, args string) string {
	fields := strings.SplitN(strings.SplitN(args, ";", 2)[0], ",", 3)
	if len(fields) != 3 {
		return replyErr
	}
	typ, err1 := strconv.ParseUint(fields[0], 16, 8)
	addr64, err2 := strconv.ParseUint(fields[1], 16, 32)
	kind, err3 := strconv.ParseUint(fields[2], 16, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return replyErr
	}
	addr := uint32(addr64)
	switch typ {
	case 0, 1:
		return result(s.setBreak(insert, BreakKind(typ), addr&^1))
	case 2, 3, 4:
		if kind == 0 {
			return replyErr
		}
		return result(s.setWatch(insert, watchpoint{kind: WatchKind(typ), addr: addr, n: uint32(kind)}))
	}
	return replyUnsupported
}

func result(err error) string {
	if err != nil {
		return replyErr
	}
	return replyOK
}

// setBreak keeps the per-address table: the target hears of an address
// once, however many kinds gdb inserts there. Inserting twice is a no-op,
// as the protocol requires of Z packets.
func (s *session) setBreak(insert bool, kind BreakKind, addr uint32) error {
	old := s.breaks[addr]
	bits := old &^ (1 << kind)
	if insert {
		bits = old | 1<<kind
	}
	switch {
	case old == 0 && bits != 0:
		if err := s.t.SetBreakpoint(addr); err != nil {
			return err
		}
	case old != 0 && bits == 0:
		if err := s.t.ClearBreakpoint(addr); err != nil {
			return err
		}
	}
	if bits == 0 {
		delete(s.breaks, addr)
	} else {
		s.breaks[addr] = bits
	}
	return nil
}

func (s *session) setWatch(insert bool, w watchpoint) error {
	_, have := s.watches[w]
	switch {
	case insert && !have:
		if err := s.t.SetWatchpoint(w.kind, w.addr, w.n); err != nil {
			return err
		}
		s.watches[w] = struct{}{}
	case !insert && have:
		if err := s.t.ClearWatchpoint(w.kind, w.addr, w.n); err != nil {
			return err
		}
		delete(s.watches, w)
	}
	return nil
}

// Registers travel as 8 hex digits, little-endian (target byte order).

func appendReg(b []byte, v uint32) []byte {
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], v)
	return hex.AppendEncode(b, le[:])
}

func parseReg(h string) (uint32, bool) {
	le, err := hex.DecodeString(h)
	if err != nil || len(le) != 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(le), true
}

func (s *session) readRegisters() string {
	b := make([]byte, 0, int(NumRegs)*8)
	for r := R0; r < NumRegs; r++ {
		b = appendReg(b, s.t.ReadRegister(r))
	}
	return string(b)
}

func (s *session) writeRegisters(args string) string {
	if len(args)%8 != 0 || len(args) > int(NumRegs)*8 {
		return replyErr
	}
	for i := 0; i < len(args)/8; i++ {
		v, ok := parseReg(args[i*8 : i*8+8])
		if !ok {
			return replyErr
		}
		if err := s.writeReg(Reg(i), v); err != nil {
			return replyErr
		}
	}
	return replyOK
}

func (s *session) writeReg(r Reg, v uint32) error {
	if r == PC {
		v &^= 1 // Thumb: the T bit lives in xPSR, not in PC
	}
	return s.t.WriteRegister(r, v)
}

func (s *session) readRegister(args string) string {
	n, err := strconv.ParseUint(args, 16, 8)
	if err != nil || n >= uint64(NumRegs) {
		return replyErr
	}
	return string(appendReg(nil, s.t.ReadRegister(Reg(n))))
}

func (s *session) writeRegister(args string) string {
	num, val, found := strings.Cut(args, "=")
	n, err := strconv.ParseUint(num, 16, 8)
	v, ok := parseReg(val)
	if !found || err != nil || n >= uint64(NumRegs) || !ok {
		return replyErr
	}
	return result(s.writeReg(Reg(n), v))
}

// parseAddrLen parses "addr,length" (hex).
func parseAddrLen(s string) (addr, n uint32, ok bool) {
	a, l, found := strings.Cut(s, ",")
	addr64, err1 := strconv.ParseUint(a, 16, 32)
	n64, err2 := strconv.ParseUint(l, 16, 32)
	if !found || err1 != nil || err2 != nil || addr64+n64 > 1<<32 {
		return 0, 0, false
	}
	return uint32(addr64), uint32(n64), true
}

func (s *session) readMemory(args string) string {
	addr, n, ok := parseAddrLen(args)
	if !ok {
		return replyErr
	}
	// A shorter reply than asked is allowed; gdb asks again for the rest.
	n = min(n, maxPacket/2)
	buf := make([]byte, n)
	if err := s.t.ReadMemory(addr, buf); err != nil {
		return replyErr
	}
	return hex.EncodeToString(buf)
}

func (s *session) writeMemoryHex(args string) string {
	head, data, found := strings.Cut(args, ":")
	addr, n, ok := parseAddrLen(head)
	b, err := hex.DecodeString(data)
	if !found || !ok || err != nil || uint32(len(b)) != n {
		return replyErr
	}
	return result(s.t.WriteMemory(addr, b))
}

func (s *session) writeMemoryBinary(args []byte) string {
	i := bytes.IndexByte(args, ':')
	if i < 0 {
		return replyErr
	}
	addr, n, ok := parseAddrLen(string(args[:i]))
	data := args[i+1:]
	if !ok || uint32(len(data)) != n {
		return replyErr
	}
	if n == 0 {
		return replyOK // gdb's probe for X support
	}
	return result(s.t.WriteMemory(addr, data))
}

// features serves qXfer:features:read:ANNEX:offset,length.
func (s *session) features(args string) string {
	annex, rng, found := strings.Cut(args, ":")
	off, n, ok := parseAddrLen(rng)
	if !found || !ok {
		return replyErr
	}
	if annex != "target.xml" {
		return "E00"
	}
	doc := targetXML
	if off >= uint32(len(doc)) {
		return "l"
	}
	n = min(n, maxPacket/2) // escaping may double a byte
	end := min(uint64(off)+uint64(n), uint64(len(doc)))
	chunk := escape([]byte(doc[off:end]))
	if end == uint64(len(doc)) {
		return "l" + string(chunk)
	}
	return "m" + string(chunk)
}

// monitor serves gdb's "monitor CMD" (qRcmd, hex-encoded).
func (s *session) monitor(hexCmd string) string {
	raw, err := hex.DecodeString(hexCmd)
	if err != nil {
		return replyErr
	}
	var out string
	switch cmd := strings.TrimSpace(string(raw)); cmd {
	case "reset", "reset halt", "system_reset":
		if err := s.t.Reset(); err != nil {
			out = "reset failed: " + err.Error() + "\n"
			break
		}
		s.last = Stop{Kind: StopInterrupted}
		out = "reset: stopped at the reset handler\n"
	case "help", "":
		out = "monitor commands: reset (power-on reset, stays stopped), help\n"
	default:
		out = fmt.Sprintf("unknown monitor command %q (try \"monitor help\")\n", cmd)
	}
	if err := s.w.send([]byte("O" + hex.EncodeToString([]byte(out)))); err != nil {
		s.over = true
	}
	return replyOK
}

// crc serves qCRC:addr,length, which gdb's compare-sections uses to check
// the loaded image against the ELF: CRC-32 with polynomial 0x04c11db7,
// most significant bit first, initial value all ones, no final inversion
// (libiberty's xcrc32, as gdb computes it on its side).
func (s *session) crc(args string) string {
	addr, n, ok := parseAddrLen(args)
	if !ok {
		return replyErr
	}
	crc := uint32(0xffffffff)
	buf := make([]byte, 4096)
	for n > 0 {
		chunk := buf[:min(n, uint32(len(buf)))]
		if err := s.t.ReadMemory(addr, chunk); err != nil {
			return replyErr
		}
		crc = crc32MSB(crc, chunk)
		addr += uint32(len(chunk))
		n -= uint32(len(chunk))
	}
	return fmt.Sprintf("C%08x", crc)
}

func crc32MSB(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
