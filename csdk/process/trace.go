package process

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/mem"
)

// The trace (MVNET_TRACE) is one JSON object per line, written as things
// happen. Every line has "t", microseconds since the library started (the
// clock of mvGetMicroseconds and of notification records), and "kind":
//
//	{"t":5,"kind":"start","device":"UV…","pid":4242,"restarts":0}
//	{"t":812,"kind":"syscall","call":"mvSetupNotifications","args":{"notifications":"0x7ffc…","handle_out":"0x7ffc…"},"status":"MV_STATUS_OKAY","detail":{"irq":51,"buffer":"0x55d0…","buffer_size":128},"out":{"handle_out":"0x2c41e0a7"}}
//	{"t":850,"kind":"syscall","call":"mvGetNetworkStatus","args":{"handle":"0x5f0c2d11","status":"0x7ffc…"},"status":"MV_STATUS_OKAY","out":{"status":"MV_NETWORKSTATUS_CONNECTED"}}
//	{"t":903,"kind":"syscall","call":"mvPeriphPeek32","args":{…},"status":"MV_STATUS_UNAVAILABLE","note":"not emulated on the host (peripherals)"}
//	{"t":1204,"kind":"notification","irq":51,"centre":"0x2c41e0a7","slot":0,"event":"MV_EVENTTYPE_NETWORKSTATUSCHANGED","tag":7,"us":1203}
//	{"t":1230,"kind":"interrupt","irq":51,"handler":"TIM8_BRK_IRQHandler"}
//	{"t":1240,"kind":"interrupt","irq":52,"handler":"TIM8_UP_IRQHandler","unhandled":true}
//	{"t":1500,"kind":"link-error","text":"cannot reach the cloud: dial: dial tcp 127.0.0.1:7443: connect: connection refused"}
//	{"t":2100,"kind":"link-up","text":"link up"}
//	{"t":3377,"kind":"diagnostic","channel":"0x5f0c2d11","text":"DNS lookup of api.example.invalid failed: no such host"}
//	{"t":2401230,"kind":"repeat","count":2345,"first":1201007,"last":2400998,"event":{"kind":"syscall","call":"mvGetNetworkStatus",…}}
//	{"t":9001,"kind":"exit","status":0}
//
// The start line comes first, written as the library starts (at the
// application's first system call, NVIC call or traced HAL call). Pointers
// and handles are hex strings, integers are numbers, enums are names (a
// value outside the enum stays a number). "out" holds what the call wrote
// through its pointer arguments (scalars, enums, handles, header text) when
// it succeeded; "detail" decodes some input structures; an mvServerLog that
// returned OKAY has "seq", the sequence number of its line (as in the
// serverlog line of the line stored). A notification line
// is written as the kernel posts the record and pends the IRQ; its fields
// are read back from the ring. The exit line is written by mvTestingComplete
// or, once, by the library's exit hook (main returned, exit()); its status
// is absent where the C library does not tell it. A link-error line says
// why the link to the cloud could not be established or was lost (once,
// then on change; link-up follows when it recovers), and a diagnostic line
// gives the cloud's reason for failing a channel's request — what the
// application's results (MV_HTTPRESULT_REQUESTFAILED …) cannot say. An
// event that repeats an earlier one is counted instead of written, and a
// repeat line stands for the count (trace_repeat.go). A file at the size
// cap (MVNET_TRACE_MAX) drops its oldest lines and begins with a dropped
// line that says what it no longer holds (trace_file.go).
type tracer struct {
	mono func() int64 // µs since boot

	mu        sync.Mutex
	out       *TraceFile
	buf       []byte                  // the line being built
	head      int                     // where buf's ,"kind" begins
	now       int64                   // buf's t
	countable bool                    // buf's event may be counted as a repeat
	remember  bool                    // buf's event, written, may be counted when it repeats
	rep       repeats                 // trace_repeat.go
	centres   map[uint32]*traceCentre // by IRQ
	mem       mem.Memory
	abi       *abi.ABI
	exited    bool // the exit line is written

	off atomic.Bool // nothing more is written: closed
}

// traceCentre follows a notification centre's ring: the kernel fills slots
// in order, one pend per record, so the next pend's record is at next.
type traceCentre struct {
	handle uint32
	buf    mem.Addr
	slots  uint32
	next   uint32
}

func openTrace(path string, appendTo bool, max int64, p *Process) (*tracer, error) {
	t := &tracer{
		mono:    func() int64 { return p.monotonic().Microseconds() },
		centres: map[uint32]*traceCentre{},
		mem:     p.o.Memory,
		abi:     p.o.ABI,
		rep:     newRepeats(),
	}
	if path == "-" {
		t.out = traceStream(os.Stderr)
	} else {
		out, err := OpenTraceFile(path, appendTo, max)
		if err != nil {
			return nil, err
		}
		t.out = out
	}
	// A trace that cannot go on says so once, at warning level.
	t.out.OnError = func(err error) { p.log.Warn("trace write failed", "err", err) }
	return t, nil
}

// on reports whether lines are being written.
func (t *tracer) on() bool { return t != nil && !t.off.Load() }

// close writes the counted repeats out and closes the trace.
func (t *tracer) close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.out != nil && !t.off.Load() {
		t.flushRepeats(t.mono())
		_ = t.out.Close()
	}
	if t.rep.timer != nil {
		t.rep.timer.Stop()
	}
	t.out = nil
	t.off.Store(true)
}

// begin starts a line; end writes it. mu is held in between.
func (t *tracer) begin(kind string) {
	t.mu.Lock()
	t.now = t.mono()
	t.buf = append(t.buf[:0], `{"t":`...)
	t.buf = strconv.AppendInt(t.buf, t.now, 10)
	t.head = len(t.buf)
	t.countable = repeatKinds[kind]
	t.remember = t.countable
	t.str("kind", kind)
}

func (t *tracer) end() bool {
	t.buf = append(t.buf, "}\n"...)
	ok := t.emit()
	t.mu.Unlock()
	return ok
}

// emit counts the line in buf if it repeats an event (trace_repeat.go),
// else writes the counted repeats and then it; it reports whether the line
// is in the trace (or counted). mu held.
func (t *tracer) emit() bool {
	if t.out == nil || t.off.Load() {
		return false
	}
	key := t.buf[t.head:]
	if t.countable && t.absorb(key, t.now) {
		return true
	}
	t.flushRepeats(t.now)
	ok := t.writeOut(t.buf)
	if t.remember {
		t.rememberRun(key)
	}
	return ok
}

// writeOut writes one line, whole (one write: lines never interleave),
// under the cap (trace_file.go). mu held.
func (t *tracer) writeOut(line []byte) bool {
	return t.out.WriteLine(line) == nil
}

func (t *tracer) key(k string) {
	if c := t.buf[len(t.buf)-1]; c != '{' {
		t.buf = append(t.buf, ',')
	}
	t.buf = appendJSONString(t.buf, k)
	t.buf = append(t.buf, ':')
}

func (t *tracer) str(k, v string) { t.key(k); t.buf = appendJSONString(t.buf, v) }
func (t *tracer) num(k string, v uint64) {
	t.key(k)
	t.buf = strconv.AppendUint(t.buf, v, 10)
}
func (t *tracer) hex(k string, v uint64) { t.key(k); t.buf = appendHex(t.buf, v) }
func (t *tracer) open(k string)          { t.key(k); t.buf = append(t.buf, '{') }
func (t *tracer) shut()                  { t.buf = append(t.buf, '}') }

// start writes the first line, as the library starts.
func (t *tracer) start(p *Process) {
	if !t.on() {
		return
	}
	t.begin("start")
	t.str("device", p.cfg.DeviceID)
	t.num("pid", uint64(os.Getpid()))
	t.num("restarts", uint64(p.cfg.Restarts))
	t.end()
}

// note writes a line of the given kind with string fields.
func (t *tracer) note(kind string, kv ...string) {
	if !t.on() {
		return
	}
	t.begin(kind)
	for i := 0; i+1 < len(kv); i += 2 {
		t.str(kv[i], kv[i+1])
	}
	t.end()
}

// exit writes the exit line, once: the process's exit status, or none if
// code < 0 (not known).
func (t *tracer) exit(code int) {
	if !t.on() {
		return
	}
	t.begin("exit")
	if t.exited {
		t.mu.Unlock()
		return
	}
	t.exited = true
	if code >= 0 {
		t.num("status", uint64(code))
	}
	t.end()
}

// isPointer reports whether a C parameter type is passed as an address.
func isPointer(ctype string) bool {
	return strings.Contains(ctype, "*") || strings.HasSuffix(ctype, "Handle")
}

// preState is what a call's trace needs from before the call, and of an
// mvServerLog that returned OKAY the seq of its line (Kernel.LastLogSeq).
type preState struct {
	handle    uint32
	logSeq    uint64
	hasLogSeq bool
}

// before captures state the call will destroy: the handle mvCloseNotifications
// zeroes.
func (t *tracer) before(e *entry, a *kernel.Args) *preState {
	if e.call.Name == "mvCloseNotifications" {
		if h, err := t.abi.ReadHandle(t.mem, mem.Addr(a[0])); err == nil {
			return &preState{handle: h}
		}
	}
	return nil
}

// syscall writes a call's line.
func (t *tracer) syscall(e *entry, a *kernel.Args, st abi.Status, pre *preState) {
	if !t.on() {
		return
	}
	t.begin("syscall")
	t.str("call", e.call.Name)
	t.open("args")
	for i, prm := range e.call.Params {
		switch {
		case isPointer(prm.CType):
			t.hex(prm.Name, a[i])
		case strings.HasPrefix(prm.CType, "enum "):
			t.key(prm.Name)
			t.enum(prm.CType, uint32(a[i]))
		default:
			t.num(prm.Name, a[i])
		}
	}
	t.shut()
	t.str("status", st.String())
	if e.served != ServedByKernel && e.note != "" && (e.served == NotServed || st == abi.StatusOkay) {
		t.str("note", e.note)
	}
	t.detail(e, a)
	if st == abi.StatusOkay {
		t.outputs(e, a)
	}
	if pre != nil && pre.hasLogSeq {
		// The seq of the line mvServerLog accepted, as in the serverlog
		// line the stored line makes: what pairs the two.
		t.num("seq", pre.logSeq)
	}
	t.end()
	if st == abi.StatusOkay {
		t.follow(e, a, pre)
	}
}

// detail decodes the input structures worth seeing in a transcript.
func (t *tracer) detail(e *entry, a *kernel.Args) {
	switch e.call.Name {
	case "mvSetupNotifications":
		if s, err := t.abi.ReadNotificationSetup(t.mem, mem.Addr(a[0])); err == nil {
			t.open("detail")
			t.num("irq", uint64(s.IRQ))
			t.hex("buffer", uint64(s.Buffer))
			t.num("buffer_size", uint64(s.BufferSize))
			t.shut()
		}
	case "mvOpenChannel":
		if o, err := t.abi.ReadOpenChannelParams(t.mem, mem.Addr(a[0])); err == nil {
			t.open("detail")
			t.str("channel_type", o.ChannelType.String())
			t.num("receive_buffer_len", uint64(o.ReceiveBufferLen))
			t.num("send_buffer_len", uint64(o.SendBufferLen))
			t.shut()
		}
	case "mvSendHttpRequest":
		if r, err := t.abi.ReadHTTPRequest(t.mem, mem.Addr(a[1])); err == nil {
			t.open("detail")
			t.str("method", t.text(r.Method.Data, r.Method.Length, 16))
			t.str("url", t.text(r.URL.Data, r.URL.Length, 512))
			t.num("num_headers", uint64(r.NumHeaders))
			t.num("body_length", uint64(r.Body.Length))
			t.num("timeout_ms", uint64(r.TimeoutMS))
			t.shut()
		}
	}
}

// text reads at most max bytes of application memory as a string ("" if
// unreadable).
func (t *tracer) text(p mem.Addr, n uint32, max uint32) string {
	n = min(n, max)
	b := make([]byte, n)
	if t.mem.CopyIn(b, p) != nil {
		return ""
	}
	return string(b)
}

// outputs reads back what a successful call wrote through its pointers.
func (t *tracer) outputs(e *entry, a *kernel.Args) {
	opened := false
	out := func(k string) {
		if !opened {
			t.open("out")
			opened = true
		}
		t.key(k)
	}
	for i, prm := range e.call.Params {
		p := mem.Addr(a[i])
		switch ct := prm.CType; {
		case strings.HasPrefix(ct, "const "):
		case ct == "uint32_t *":
			if v, err := abi.ReadUint32(t.mem, p); err == nil {
				out(prm.Name)
				t.buf = strconv.AppendUint(t.buf, uint64(v), 10)
			}
		case strings.HasPrefix(ct, "enum ") && strings.HasSuffix(ct, " *"):
			if v, err := t.readEnum(ct, p); err == nil {
				out(prm.Name)
				t.enum(ct, v)
			}
		case ct == "uint64_t *":
			if v, err := abi.ReadUint64(t.mem, p); err == nil {
				out(prm.Name)
				t.buf = strconv.AppendUint(t.buf, v, 10)
			}
		case strings.HasSuffix(ct, "Handle *"):
			if v, err := t.abi.ReadHandle(t.mem, p); err == nil {
				out(prm.Name)
				t.buf = appendHex(t.buf, uint64(v))
			}
		}
	}
	switch e.call.Name {
	case "mvReadHttpResponseData":
		if d, err := t.abi.ReadHTTPResponseData(t.mem, mem.Addr(a[1])); err == nil {
			out("response_data")
			t.buf = append(t.buf, '{')
			t.str("result", d.Result.String())
			t.num("status_code", uint64(d.StatusCode))
			t.num("num_headers", uint64(d.NumHeaders))
			t.num("body_length", uint64(d.BodyLength))
			t.shut()
		}
	case "mvReadHttpResponseHeader":
		s := t.text(mem.Addr(a[2]), uint32(a[3]), 1024)
		if i := strings.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		out("buf")
		t.buf = appendJSONString(t.buf, s)
	case "mvGetDeviceId":
		out("buf")
		t.buf = appendJSONString(t.buf, t.text(mem.Addr(a[0]), uint32(a[1]), 34))
	}
	if opened {
		t.shut()
	}
}

// follow keeps the centres' rings known, for the notification lines.
func (t *tracer) follow(e *entry, a *kernel.Args, pre *preState) {
	switch e.call.Name {
	case "mvSetupNotifications":
		s, err1 := t.abi.ReadNotificationSetup(t.mem, mem.Addr(a[0]))
		h, err2 := t.abi.ReadHandle(t.mem, mem.Addr(a[1]))
		if err1 == nil && err2 == nil {
			t.mu.Lock()
			t.centres[s.IRQ] = &traceCentre{handle: h, buf: s.Buffer, slots: s.BufferSize / abi.NotificationSize}
			t.mu.Unlock()
		}
	case "mvCloseNotifications":
		if pre == nil {
			return
		}
		t.mu.Lock()
		for irq, c := range t.centres {
			if c.handle == pre.handle {
				delete(t.centres, irq)
			}
		}
		t.mu.Unlock()
	}
}

// pend writes a notification line: the kernel has just written a record
// into the ring of the centre on irq and is pending it.
func (t *tracer) pend(irq uint32) {
	if !t.on() {
		return
	}
	t.begin("notification")
	t.num("irq", uint64(irq))
	if c := t.centres[irq]; c != nil && c.slots > 0 {
		slot := c.next
		c.next = (c.next + 1) % c.slots
		t.hex("centre", uint64(c.handle))
		t.num("slot", uint64(slot))
		var rec [abi.NotificationSize]byte
		if t.mem.CopyIn(rec[:], c.buf+mem.Addr(slot*abi.NotificationSize)) == nil {
			n := abi.DecodeNotification(rec[:])
			t.str("event", n.EventType.String())
			t.num("tag", uint64(n.Tag))
			t.num("us", n.Microseconds)
		}
	}
	t.end()
}

// event writes a line for the HAL stand-in: fields are JSON object members
// without braces. Fields that do not parse are kept as a string in "raw".
func (t *tracer) event(kind, fields string) {
	if !t.on() {
		return
	}
	valid := fields == "" || json.Valid([]byte("{"+fields+"}"))
	t.begin(kind)
	if kind == "gpio" && valid {
		t.remember, t.countable = t.gpioWrite(fields)
	}
	if valid && fields != "" {
		t.buf = append(t.buf, ',')
		t.buf = append(t.buf, fields...)
	} else if !valid {
		t.str("raw", fields)
	}
	t.end()
}

// linkEvent writes a kernel.Event: a link-error, link-up or diagnostic
// line. It reports whether the line is in the trace.
func (t *tracer) linkEvent(e kernel.Event) bool {
	if !t.on() {
		return false
	}
	t.begin(e.Kind.String())
	if e.Kind == kernel.EventDiagnostic {
		t.hex("channel", uint64(e.Channel))
	}
	t.str("text", e.Text)
	return t.end()
}

// interrupt writes an interrupt delivery line.
func (t *tracer) interrupt(irq uint32, handled bool, vector string) {
	if !t.on() {
		return
	}
	t.begin("interrupt")
	t.num("irq", uint64(irq))
	t.str("handler", vector)
	if !handled {
		t.key("unhandled")
		t.buf = append(t.buf, "true"...)
	}
	t.end()
}

// enum appends an enum value of C type ctype ("enum MvNetworkStatus" or a
// pointer to one) by its member's name, or as a number if it has none.
// enumTag is the C tag of an enum type or pointer type ("enum MvStatus *").
func enumTag(ctype string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(ctype, "enum "), "*"))
}

// readEnum reads the enum a call wrote through a pointer of type ctype: one
// byte for the enums the device stores in one (short enums, abi.EnumType's
// Size) when the ABI has short enums — a firmware image's — else four.
func (t *tracer) readEnum(ctype string, p mem.Addr) (uint32, error) {
	if t.abi.ShortEnums() && enumSizes()[enumTag(ctype)] == 1 {
		var b [1]byte
		if err := t.mem.CopyIn(b[:], p); err != nil {
			return 0, err
		}
		return uint32(b[0]), nil
	}
	return abi.ReadUint32(t.mem, p)
}

// enumSizes maps C enum tag to its size in bytes on the device.
var enumSizes = sync.OnceValue(func() map[string]int {
	m := map[string]int{}
	for _, e := range abi.Enums() {
		m[e.CName] = e.Size
	}
	return m
})

func (t *tracer) enum(ctype string, v uint32) {
	tag := enumTag(ctype)
	if name, ok := enumNames()[tag][v]; ok {
		t.buf = appendJSONString(t.buf, name)
		return
	}
	t.buf = strconv.AppendUint(t.buf, uint64(v), 10)
}

// enumNames maps C enum tag and value to the member's C name, from
// abi.Enums.
var enumNames = sync.OnceValue(func() map[string]map[uint32]string {
	m := map[string]map[uint32]string{}
	for _, e := range abi.Enums() {
		names := map[uint32]string{}
		for _, mem := range e.Members {
			if _, dup := names[mem.Value]; !dup {
				names[mem.Value] = mem.CName
			}
		}
		m[e.CName] = names
	}
	return m
})

func appendHex(b []byte, v uint64) []byte {
	b = append(b, `"0x`...)
	b = strconv.AppendUint(b, v, 16)
	return append(b, '"')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
