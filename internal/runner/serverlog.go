package runner

import (
	"slices"
	"time"
)

// The hosted cloud's stored server log lines are paired with the
// mvServerLog calls they stand for by the line's seq: the kernel gives each
// call that returns OKAY the next seq (kernel.Kernel.LastLogSeq), its trace
// line carries it ("seq", csdk/process/trace.go), and the store keeps it
// with the line (store.LogLine.Seq). A line stored twice (a resend after a
// link loss) is traced once; a line never stored (dropped while logging is
// disabled, lost with the run) is known dropped as soon as a line of a
// later call is stored, since the cloud stores a device's lines in seq
// order — no wall-time wait per call.

// logCall is an mvServerLog call that returned OKAY, waiting for its
// stored line.
type logCall struct {
	seq  uint64
	t    int64              // the call's trace time
	line func(int64) string // its stored line; nil: none (yet)
	done bool               // line came, or it never will
}

// earlyLine is a stored line whose call is not read yet.
type earlyLine struct {
	seq  uint64
	line func(int64) string
}

// outItem is a trace line waiting for its turn (virtual time): a line of
// its own, or the place of a call's stored line.
type outItem struct {
	line string
	call *logCall
}

// logCallLocked records, in hosted mode, an mvServerLog call of trace time
// t that returned OKAY with seq; on virtual time its stored line takes its
// place right after the call's line (which the caller has just written).
// d.mu is held.
func (d *demux) logCallLocked(seq uint64, t int64) {
	if d.hosted == nil {
		return
	}
	c := &logCall{seq: seq, t: t}
	if d.virtual {
		d.outq = append(d.outq, outItem{call: c})
	}
	if i := slices.IndexFunc(d.early, func(e earlyLine) bool { return e.seq == seq }); i >= 0 {
		// Stored before its call was read: every call before it was
		// dropped.
		line := d.early[i].line
		d.early = slices.Delete(d.early, i, i+1)
		d.dropCallsLocked(len(d.calls))
		c.line, c.done = line, true
		d.placed[seq] = true
	} else {
		d.calls = append(d.calls, c)
	}
	d.drainLocked()
}

// storedLogLocked takes a stored line of seq: traced at once on the wall
// clock, on virtual time at its call's place. d.mu is held.
func (d *demux) storedLogLocked(seq uint64, line func(int64) string) {
	if d.placed == nil {
		d.placed = map[uint64]bool{}
	}
	if d.placed[seq] || slices.ContainsFunc(d.early, func(e earlyLine) bool { return e.seq == seq }) {
		return // stored again (a resend): traced once
	}
	i := slices.IndexFunc(d.calls, func(c *logCall) bool { return c.seq == seq })
	if i < 0 {
		// Its call is not read yet (or was none): the calls waiting are
		// older, and their lines were dropped.
		d.dropCallsLocked(len(d.calls))
		if !d.virtual {
			d.placed[seq] = true
			d.writeTraceNow(line(d.nowLocked()))
			return
		}
		d.early = append(d.early, earlyLine{seq, line})
		return
	}
	d.dropCallsLocked(i)
	c := d.calls[0]
	d.calls = d.calls[1:]
	c.line, c.done = line, true
	d.placed[seq] = true
	if !d.virtual {
		d.writeTraceNow(line(d.nowLocked()))
	}
	d.drainLocked()
}

// dropCallsLocked marks the first n calls waiting as having no stored line.
func (d *demux) dropCallsLocked(n int) {
	for _, c := range d.calls[:n] {
		c.done = true
	}
	d.calls = d.calls[n:]
}

// drainLocked writes the queued lines up to the first call whose stored
// line may still come. d.mu is held.
func (d *demux) drainLocked() {
	for len(d.outq) > 0 {
		it := d.outq[0]
		if it.call == nil {
			d.writeTraceNow(it.line)
		} else if !it.call.done {
			return
		} else if it.call.line != nil {
			d.writeTraceNow(it.call.line(it.call.t))
		}
		d.outq = d.outq[1:]
	}
}

// flushLogsLocked ends the pairing (the end of the run): the calls still
// waiting have no line, and lines whose call never came are traced last.
// d.mu is held.
func (d *demux) flushLogsLocked() {
	d.dropCallsLocked(len(d.calls))
	d.drainLocked()
	for _, e := range d.early {
		d.placed[e.seq] = true
		d.writeTraceNow(e.line(d.lastT))
	}
	d.early = nil
}

// waitLogs, at the exit line, waits until every mvServerLog call read has
// its stored line or is known to have none: the exit line comes after the
// lines the application logged, as the library waits for them with its
// embedded cloud. The library wrote the exit line after the cloud
// acknowledged its lines (process.flushJoinedLogs), and the cloud
// acknowledges a line once it is stored or dropped: so the store says
// which of the calls waiting have a line; those that have none are
// dropped at once, and the lines stored are waited for (their follower
// delivers them), at most logFlushWait of wall time in case the store
// cannot be read.
func (d *demux) waitLogs() {
	d.mu.Lock()
	waiting := len(d.calls) > 0
	d.mu.Unlock()
	if !waiting || d.hosted == nil {
		return
	}
	stored, err := d.hosted.storedSeqs()
	d.mu.Lock()
	if err == nil {
		kept := d.calls[:0]
		for _, c := range d.calls {
			if stored[c.seq] {
				kept = append(kept, c)
			} else {
				c.done = true
			}
		}
		d.calls = kept
		d.drainLocked()
	}
	d.mu.Unlock()
	deadline := time.Now().Add(logFlushWait)
	for {
		d.mu.Lock()
		n := len(d.calls)
		d.mu.Unlock()
		if n == 0 || !time.Now().Before(deadline) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
