package runner

import (
	"bufio"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// leftoverGrace is how long the application's output is still read after
// it has exited, for a child it left running that holds the pipe.
const leftoverGrace = 2 * time.Second

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
}

// run reads r to its end.
func (d *demux) run(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			d.line(s)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
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
