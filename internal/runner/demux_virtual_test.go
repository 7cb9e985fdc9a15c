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
	d.storedLog(func(t int64) string { return line(t, "serverlog", `,"line":"hello"`) })
	h.logged.Add(1)
	d.feed(line(1000, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`) + "\n" +
		line(1500, "syscall", `,"call":"mvServerLog","status":"MV_STATUS_OKAY"`) + "\n" +
		line(1500, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`) + "\n" +
		line(2000, "exit", `,"status":0`) + "\n")
	d.flushHeld(-1)
	want := []string{
		line(1000, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`),
		line(1500, "syscall", `,"call":"mvServerLog","status":"MV_STATUS_OKAY"`),
		line(1500, "serverlog", `,"line":"hello"`),
		line(1500, "syscall", `,"call":"mvGetMicroseconds","status":"MV_STATUS_OKAY"`),
		line(1500, "fault", `,"phase":"start"`),
		line(2000, "exit", `,"status":0`),
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
