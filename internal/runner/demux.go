package runner

import (
	"errors"
	"io"
	"regexp"
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
	if d.stdout != nil && s != "" {
		_, _ = io.WriteString(d.stdout, s)
	}
}

func (d *demux) trace(line, kind string) {
	if d.keep != nil {
		_, _ = io.WriteString(d.keep, line+"\n")
	}
	d.up.lifecycle(kind)
	print(d.transcript, line, d.raw)
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
