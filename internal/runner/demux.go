package runner

import (
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// leftoverGrace is how long the runner waits for more output once the
// application has exited and the pipe has stayed empty: a child it left
// running holds the pipe open. The wait counts only time spent waiting for
// data, not time spent writing output to a slow reader, so nothing already
// in the pipe is dropped.
const leftoverGrace = 2 * time.Second

// maxPending caps the text held back while it may still become a trace
// line; longer, it is the application's output. A trace line is at most a
// few KiB (the longest field, an HTTP URL, is cut at 512 bytes in
// csdk/process/trace.go).
const maxPending = 64 << 10

// traceLine finds the beginning of a trace line: every line the library
// writes starts {"t":N,"kind":" (csdk/process/trace.go).
var traceLine = regexp.MustCompile(`\{"t":[0-9]+,"kind":"`)

// demux splits the pipe the application's stdout and its trace share.
type demux struct {
	stdout     io.Writer // the application's lines; nil: dropped
	transcript io.Writer // the trace, readable (or raw); nil: dropped
	keep       io.Writer // the raw trace (--trace); nil: not kept
	raw        bool
	up         *updater

	// exited is closed when the application has exited; from then on each
	// read of the pipe waits at most leftoverGrace for data.
	exited  chan struct{}
	pending string // text read that may still become (part of) a trace line

	// mu orders the writes of the demux and of inject (the hosted
	// cloud's lines) and guards what follows.
	mu      sync.Mutex
	started time.Time // when the application started (Run)
	startT  int64     // t of the newest start line, and when it was seen
	startAt time.Time
	obs     *observers      // Options.Observe; nil: none
	line0   strings.Builder // the application's unfinished stdout line, for obs

	// hosted, in hosted mode, is the cloud whose server log lines the
	// exit line waits for; its lines are paired with their mvServerLog
	// calls by seq (serverlog.go): calls holds the calls whose line has
	// not come (in call order), early the lines stored before their call
	// was read, placed the seqs of the lines traced.
	hosted *hosted
	calls  []*logCall
	early  []earlyLine
	placed map[uint64]bool

	// virtual: the application runs on a virtual clock (a firmware image
	// in deterministic mode), and the runner's own lines are placed by it
	// so that two runs give the same transcript: a fault line (injectAt,
	// with its virtual time) waits in held until a trace line of a later
	// time comes (or the end), a server log line follows the
	// mvServerLog call it stands for, with its time: the trace lines after
	// a call whose line may still come wait in outq (the pipe is read on).
	virtual bool
	held    []heldLine
	lastT   int64 // t of the newest trace line read
	outq    []outItem
}

// heldLine is a line of the runner's own waiting for its place.
type heldLine struct {
	t    int64
	line string
}

// deadliner is a pipe that can bound a read (*os.File).
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// run reads r to its end, or until it has stayed empty for leftoverGrace
// after the application exited (os.ErrDeadlineExceeded).
func (d *demux) run(r io.Reader) error {
	buf := make([]byte, 64<<10)
	dl, _ := r.(deadliner)
	for {
		if dl != nil && d.exited != nil {
			select {
			case <-d.exited:
				// Renewed before every read: only waiting counts.
				_ = dl.SetReadDeadline(time.Now().Add(leftoverGrace))
			default:
			}
		}
		n, err := r.Read(buf)
		if n > 0 {
			d.feed(string(buf[:n]))
		}
		if err != nil {
			d.out(d.pending) // an unfinished line at the end is the application's
			d.pending = ""
			d.flushHeld(-1) // the runner's lines still waiting for their place
			d.flushObserved()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// feed takes text read from the pipe: complete lines go where they belong
// (line), and of an unfinished line everything that cannot be the start of
// a trace line goes to stdout at once — a prompt or progress output
// flushed without a newline is shown without waiting for one.
func (d *demux) feed(s string) {
	s = d.pending + s
	d.pending = ""
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		d.line(s[:i+1])
		s = s[i+1:]
	}
	if s == "" {
		return
	}
	hold := mayStartAt(s)
	d.out(s[:hold])
	d.pending = s[hold:]
	if len(d.pending) > maxPending {
		d.out(d.pending)
		d.pending = ""
	}
}

// mayStartAt is the index in s (an unfinished line) from which s may be
// the beginning of a trace line, or len(s) if there is none.
func mayStartAt(s string) int {
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 {
			break
		}
		i += j
		if mayBeTraceStart(s[i:]) {
			return i
		}
	}
	return len(s)
}

// mayBeTraceStart reports whether s begins with what traceLine matches, or
// is the beginning of it.
func mayBeTraceStart(s string) bool {
	const head, kind = `{"t":`, `,"kind":"`
	if len(s) <= len(head) {
		return strings.HasPrefix(head, s)
	}
	if !strings.HasPrefix(s, head) {
		return false
	}
	s = s[len(head):]
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if digits == 0 {
		return s == ""
	}
	s = s[digits:]
	if len(s) <= len(kind) {
		return strings.HasPrefix(kind, s)
	}
	return strings.HasPrefix(s, kind)
}

// line sends one line read from the pipe where it belongs: a complete trace
// line to the transcript, anything else to stdout. Output the application
// flushed without ending its line is followed on that line by the next
// trace line; it goes to stdout as it is, and the trace line to the
// transcript.
func (d *demux) line(s string) {
	if body, ok := strings.CutSuffix(s, "\n"); ok {
		if loc := traceLine.FindStringIndex(body); loc != nil {
			if kind := kindOf(body[loc[0]:]); kind != "" {
				d.out(body[:loc[0]])
				d.trace(body[loc[0]:], kind)
				return
			}
		}
	}
	d.out(s)
}

func (d *demux) out(s string) {
	if s == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stdout != nil {
		_, _ = io.WriteString(d.stdout, s)
	}
	if d.obs.on() {
		for s != "" {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				d.line0.WriteString(s)
				break
			}
			d.line0.WriteString(s[:i])
			d.obs.put(Event{Kind: StdoutLine, Line: d.line0.String()})
			d.line0.Reset()
			s = s[i+1:]
		}
	}
}

func (d *demux) trace(line, kind string) {
	var seq uint64
	var logCall bool
	switch kind {
	case "syscall":
		seq, logCall = serverLogSeq(line)
	case "exit":
		// The server log lines come before the exit line, as with the
		// embedded cloud (which waits for them before writing it).
		d.waitLogs()
	}
	t, tok := traceTime(line)
	d.mu.Lock()
	if kind == "start" {
		d.startT, d.startAt = t, time.Now()
		// A new boot's time starts again at 0: the runner's lines held
		// from the boot before are of its time, and come before.
		d.flushHeldLocked(-1)
	}
	if tok {
		d.flushHeldLocked(t)
		d.lastT = t
	}
	d.up.lifecycle(kind)
	d.writeTrace(line)
	if logCall {
		d.logCallLocked(seq, d.lastT)
	}
	d.mu.Unlock()
}

// traceTime is the t of a trace line.
func traceTime(line string) (int64, bool) {
	rest, ok := strings.CutPrefix(line, `{"t":`)
	if !ok {
		return 0, false
	}
	n := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	t, err := strconv.ParseInt(rest[:n], 10, 64)
	return t, err == nil
}

// storedLog traces a server log line of seq the hosted cloud stored: line
// makes the trace line for a time. On virtual time the line waits for its
// mvServerLog call (the call whose trace line has the same seq) and takes
// the call's time; else it is traced at once. A seq traced already is not
// traced again.
func (d *demux) storedLog(seq uint64, line func(t int64) string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.storedLogLocked(seq, line)
}

// injectAt puts a line of the runner's own (a hosted cloud's fault line),
// of time t, into the trace among the library's: at once, or on virtual
// time once a trace line of a later time has come (flushHeldLocked).
func (d *demux) injectAt(t int64, line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.virtual {
		d.writeTrace(line)
		return
	}
	d.held = append(d.held, heldLine{t, line})
}

// flushHeldLocked writes the held lines, in the order they came, as far
// as they are of a time before t (all of them for t < 0); d.mu is held.
func (d *demux) flushHeldLocked(t int64) {
	for len(d.held) > 0 && (t < 0 || d.held[0].t < t) {
		d.writeTrace(d.held[0].line)
		d.held = d.held[1:]
	}
}

func (d *demux) flushHeld(t int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.flushHeldLocked(t)
	if t < 0 {
		d.flushLogsLocked()
	}
}

// writeTrace keeps, observes and prints a trace line, or queues it behind
// a server log line still to come (outq); d.mu is held.
func (d *demux) writeTrace(line string) {
	if len(d.outq) > 0 {
		d.outq = append(d.outq, outItem{line: line})
		return
	}
	d.writeTraceNow(line)
}

// writeTraceNow is writeTrace without the queue; d.mu is held.
func (d *demux) writeTraceNow(line string) {
	if d.keep != nil {
		_, _ = io.WriteString(d.keep, line+"\n")
	}
	d.obs.put(Event{Kind: TraceLine, Line: line})
	print(d.transcript, line, d.raw)
}

// flushObserved gives the observer the application's unfinished last
// line.
func (d *demux) flushObserved() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.line0.Len() > 0 {
		d.obs.put(Event{Kind: StdoutLine, Line: d.line0.String()})
		d.line0.Reset()
	}
}

// start records when the application started.
func (d *demux) start() {
	d.mu.Lock()
	d.started = time.Now()
	d.mu.Unlock()
}

// now is the trace's time for a line of the runner's own: the newest start
// line's t plus the time since it was seen (before any start line, the
// time since the application started), in µs; on virtual time, the newest
// trace line's t.
func (d *demux) now() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nowLocked()
}

// nowLocked is now with d.mu held.
func (d *demux) nowLocked() int64 {
	if d.virtual {
		return d.lastT
	}
	if d.startAt.IsZero() {
		if d.started.IsZero() {
			return 0
		}
		return time.Since(d.started).Microseconds()
	}
	return d.startT + time.Since(d.startAt).Microseconds()
}

// serverLogSeq is, for the syscall line of an mvServerLog call that
// returned OKAY, the seq of the line it logged (csdk/process/trace.go).
// Such calls are never counted as repeats: their seqs differ.
func serverLogSeq(line string) (uint64, bool) {
	if !strings.Contains(line, `"mvServerLog"`) {
		return 0, false
	}
	e, _ := syscallEvent(line)
	if e == nil || e["call"] != "mvServerLog" || e["status"] != "MV_STATUS_OKAY" {
		return 0, false
	}
	seq, ok := e["seq"].(json.Number)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(string(seq), 10, 64)
	return n, err == nil
}

// lockedWriter is a writer shared with other goroutines under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func locked(mu *sync.Mutex, w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return &lockedWriter{mu: mu, w: w}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
