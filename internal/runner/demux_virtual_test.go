package runner

import (
	"fmt"
	"strings"
	"testing"
)

// On virtual time the hosted cloud's lines take their place in the
// transcript by the device's time, not by when they reached the runner: a
// fault line (injectAt) comes before the first trace line of a later time,
// after those of its own; a stored server log line right after the
// mvServerLog call it stands for, with its time — however early both
// arrive.
func TestDemuxPlacesHostedLinesByVirtualTime(t *testing.T) {
	var out strings.Builder
	h := &hosted{}
	d := &demux{transcript: &out, raw: true, virtual: true, hosted: h, exited: make(chan struct{})}
	line := func(t int64, kind, rest string) string {
		return fmt.Sprintf(`{"t":%d,"kind":"%s"%s}`, t, kind, rest)
	}
	// Both arrive before the device's lines that precede them.
	d.injectAt(1500, line(1500, "fault", `,"phase":"start"`))
	d.storedLog(3, func(t int64) string { return line(t, "serverlog", `,"line":"hello"`) })
	d.feed(line(1000, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`) + "\n" +
		line(1500, "syscall", `,"call":"mvServerLog","status":"MV_STATUS_OKAY","seq":3`) + "\n" +
		line(1500, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`) + "\n" +
		line(2000, "exit", `,"status":0`) + "\n")
	d.flushHeld(-1)
	want := []string{
		line(1000, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`),
		line(1500, "syscall", `,"call":"mvServerLog","status":"MV_STATUS_OKAY","seq":3`),
		line(1500, "serverlog", `,"line":"hello"`),
		line(1500, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`),
		line(1500, "fault", `,"phase":"start"`),
		line(2000, "exit", `,"status":0`),
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// A stored server log line follows the mvServerLog call of its seq, not the
// oldest call still without a line: a call whose line is never stored
// (dropped while logging is disabled) gets none, a line stored twice (a
// resend) is traced once, and reading the trace never waits for a line —
// the lines after a call wait in the demux until its line has come or is
// known dropped (a later call's line is stored).
func TestDemuxPairsServerLogLinesBySeq(t *testing.T) {
	var out strings.Builder
	d := &demux{transcript: &out, raw: true, virtual: true, hosted: &hosted{}, exited: make(chan struct{})}
	line := func(t int64, kind, rest string) string {
		return fmt.Sprintf(`{"t":%d,"kind":"%s"%s}`, t, kind, rest)
	}
	logCall := func(t int64, seq int) string {
		return line(t, "syscall", fmt.Sprintf(`,"call":"mvServerLog","status":"MV_STATUS_OKAY","seq":%d`, seq))
	}
	stored := func(seq uint64, text string) {
		d.storedLog(seq, func(t int64) string { return line(t, "serverlog", fmt.Sprintf(`,"seq":%d,"line":%q`, seq, text)) })
	}
	micros := line(1500, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`)
	// The whole trace is read before any line is stored.
	d.feed(logCall(1000, 7) + "\n" + micros + "\n" + logCall(2000, 8) + "\n" + logCall(2500, 9) + "\n")
	if got := out.String(); got != logCall(1000, 7)+"\n" {
		t.Fatalf("before any line is stored, the transcript is %q; want only the first call (the rest waits for its line)", got)
	}
	stored(8, "second") // call 7's line was dropped: the first stored is 8
	stored(8, "second") // a resend, stored again
	stored(9, "third")
	d.flushHeld(-1)
	want := []string{
		logCall(1000, 7),
		micros,
		logCall(2000, 8),
		line(2000, "serverlog", `,"seq":8,"line":"second"`),
		logCall(2500, 9),
		line(2500, "serverlog", `,"seq":9,"line":"third"`),
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
