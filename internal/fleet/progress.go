package fleet

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress writes the run's progress: on a terminal one line with a bar
// for the current phase, rewritten in place at most 4 times a second, elsewhere (a file, a pipe, CI logs) a
// plain line every 2 seconds and at each phase's start.
type Progress struct {
	w        io.Writer
	terminal bool
}

// NewProgress writes progress to w; terminal says whether w is a terminal
// (IsTerminal).
func NewProgress(w io.Writer, terminal bool) *Progress { return &Progress{w: w, terminal: terminal} }

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressLoop prints the progress of a run until stop.
type progressLoop struct {
	p     *Progress
	r     *run
	start time.Time

	mu      sync.Mutex
	current string
	since   time.Time // the current phase's start
	done    chan struct{}
	stopped bool
	wg      sync.WaitGroup
}

func startProgress(p *Progress, r *run) *progressLoop {
	l := &progressLoop{p: p, r: r, start: time.Now(), done: make(chan struct{})}
	if p == nil {
		return l
	}
	every := 2 * time.Second
	if p.terminal {
		every = 250 * time.Millisecond
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-t.C:
				l.print()
			}
		}
	}()
	return l
}

// phase notes the start of a phase and prints a line.
func (l *progressLoop) phase(name string) {
	l.mu.Lock()
	l.current, l.since = name, time.Now()
	l.mu.Unlock()
	l.print()
}

// fraction is how far the current phase is, 0 to 1 (-1: unknown): devices
// through their connect, operations run of the burst's, time of the
// rate's duration.
func (l *progressLoop) fraction(connected, connectFailed, ops int) float64 {
	o := l.r.o
	switch l.current {
	case "connect":
		return float64(connected+connectFailed) / float64(len(l.r.members))
	case "load":
		if o.Rate > 0 {
			return min(1, float64(time.Since(l.since))/float64(o.Duration))
		}
		if want := connected * len(o.Scenario); want > 0 {
			return float64(ops) / float64(want)
		}
	}
	return -1
}

// bar draws f (0 to 1) in width cells.
func bar(f float64, width int) string {
	n := int(f*float64(width) + 0.5)
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}

func (l *progressLoop) print() {
	if l.p == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	c, cf, ops, failed := l.r.stats.progress()
	line := fmt.Sprintf("%6.1fs %-7s devices %d/%d connected, %d failed · ops %d, %d failed",
		time.Since(l.start).Seconds(), l.current, c, len(l.r.members), cf, ops, failed)
	if l.p.terminal {
		if f := l.fraction(c, cf, ops); f >= 0 {
			line = fmt.Sprintf("%s %3.0f%% %s", bar(f, 20), 100*f, line)
		}
		fmt.Fprintf(l.p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(l.p.w, line)
	}
}

// stop prints the last line and ends the loop; idempotent.
func (l *progressLoop) stop() {
	l.phase("done")
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped = true
	close(l.done)
	l.mu.Unlock()
	l.wg.Wait()
	if l.p != nil && l.p.terminal {
		fmt.Fprintln(l.p.w)
	}
}
