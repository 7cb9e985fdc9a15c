package process

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tick writes n numbered HAL lines (never counted as repeats).
func tick(p *Process, from, n int) {
	for i := from; i < from+n; i++ {
		p.TraceEvent("tick", `"n":`+strconv.Itoa(i))
	}
}

// checkCapped checks a trace file capped at max that was given lines
// numbered 0…total-1 (after one start line per image): it holds at most
// max bytes, begins with a dropped line, ends with the newest lines in
// order, and the dropped line accounts for every line it no longer holds.
func checkCapped(t *testing.T, path string, max int64, images, total int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) > max {
		t.Errorf("%d bytes, over the cap of %d", len(b), max)
	}
	l := readTrace(t, path) // every line is whole JSON
	d := l[0]
	if d["kind"] != "dropped" || d["max"] != float64(max) {
		t.Fatalf("first line %v, want the dropped line", d)
	}
	kept, starts, next := 0, 0, -1
	for _, x := range l[1:] {
		switch x["kind"] {
		case "start":
			starts++
		case "tick":
			n := int(x["n"].(float64))
			if next >= 0 && n != next {
				t.Fatalf("tick %d after %d: the kept lines are not the newest in order", n, next-1)
			}
			next = n + 1
			kept++
		default:
			t.Fatalf("unexpected line %v", x)
		}
	}
	if next != total {
		t.Errorf("the last line is tick %d, want %d", next-1, total-1)
	}
	if d["lines"] != d["events"] || int(d["lines"].(float64))+kept+starts != total+images {
		t.Errorf("dropped %v lines (%v events), kept %d ticks and %d start lines: %d lines in all, want %d",
			d["lines"], d["events"], kept, starts, int(d["lines"].(float64))+kept+starts, total+images)
	}
	// "t" counts from each image's start, so the dropped range is ordered
	// only while it holds one image's lines (a restart begins again at 0).
	if images == 1 && d["first"].(float64) > d["last"].(float64) || d["last"].(float64) > l[1]["t"].(float64) && starts == 0 {
		t.Errorf("dropped range %v–%v, next line at %v", d["first"], d["last"], l[1]["t"])
	}
}

// TestTraceCapKeepsNewest: at MVNET_TRACE_MAX the trace file drops its
// oldest lines, keeps the newest and says what it dropped; a restarted
// image appending to it goes on in the same way, adding to the count.
func TestTraceCapKeepsNewest(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	const max = 2000
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace, EnvTraceMax: strconv.Itoa(max)})
	tick(p, 0, 300)
	checkCapped(t, trace, max, 1, 300)
	p.Close()

	p2, _ := newTestProcess(t, map[string]string{EnvTrace: trace, EnvTraceMax: strconv.Itoa(max), EnvRestarts: "1"})
	tick(p2, 300, 300)
	checkCapped(t, trace, max, 2, 600)

	unlimited := filepath.Join(t.TempDir(), "trace.jsonl")
	p3, _ := newTestProcess(t, map[string]string{EnvTrace: unlimited, EnvTraceMax: "0"})
	tick(p3, 0, 300)
	if l := readTrace(t, unlimited); len(l) != 301 {
		t.Fatalf("MVNET_TRACE_MAX=0: %d lines", len(l))
	}
}

// TestTraceCapCountsRepeats: a dropped repeat line counts as the events it
// stood for.
func TestTraceCapCountsRepeats(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace, EnvTraceMax: "3000"})
	hm := newHostMem(t)
	hz, _ := hm.alloc(8)
	for i := 0; i < 100; i++ {
		call(t, p, "mvGetHClk", hz)
	}
	tick(p, 0, 200)
	d := readTrace(t, trace)[0]
	// start, mvGetHClk, the repeat of 99, and the oldest ticks.
	if d["kind"] != "dropped" || d["events"].(float64)-d["lines"].(float64) != 98 {
		t.Fatalf("dropped line %v: want 98 more events than lines (one repeat line of 99)", d)
	}
}

// TestTraceStreamHasNoCap: a trace written into a pipe (mvnet run's
// /dev/fd/3) holds nothing the cap could drop; every line reaches the
// reader.
func TestTraceStreamHasNoCap(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lines := make(chan int, 1)
	go func() {
		n := 0
		for s := bufio.NewScanner(r); s.Scan(); {
			if strings.Contains(s.Text(), `"kind":"dropped"`) {
				n = -1 << 30
			}
			n++
		}
		lines <- n
	}()
	path := "/proc/self/fd/" + strconv.Itoa(int(w.Fd()))
	p, _ := newTestProcess(t, map[string]string{EnvTrace: path, EnvTraceMax: "1000"})
	w.Close() // the trace has its own descriptor
	tick(p, 0, 200)
	p.Close()
	if n := <-lines; n != 201 {
		t.Fatalf("%d lines through the pipe, want 201 and no dropped line", n)
	}
}

// TestTraceLineTooLongForCap: a line that cannot fit under the cap even
// alone is counted as dropped, not written in part.
func TestTraceLineTooLongForCap(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace, EnvTraceMax: "400"})
	p.TraceEvent("uart", `"data":"`+strings.Repeat("x", 500)+`"`)
	tick(p, 0, 1)
	l := readTrace(t, trace)
	if len(l) != 2 || l[0]["kind"] != "dropped" || l[0]["lines"] != float64(2) || l[1]["kind"] != "tick" {
		t.Fatalf("trace %v", l)
	}
}

// TestTraceThroughLinkIsNotReplaced: a trace named through a symbolic link
// (as /dev/stdout is) is written through it and never rewritten: the link
// stays a link, and the file it leads to gets every line.
func TestTraceThroughLinkIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	file, link := filepath.Join(dir, "out"), filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	p, _ := newTestProcess(t, map[string]string{EnvTrace: link, EnvTraceMax: "1000"})
	tick(p, 0, 100)
	p.Close()
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	if l := readTrace(t, file); len(l) != 101 {
		t.Fatalf("%d lines through the link, want 101", len(l))
	}
}

// TestTraceThatCannotGoOnIsLoggedOnce: when the file can no longer be kept
// under the cap (its directory removed), the trace ends and says why,
// once, as a warning in the log.
func TestTraceThatCannotGoOnIsLoggedOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trace")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "log")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: filepath.Join(dir, "trace.jsonl"), EnvTraceMax: "1000", EnvLog: "debug:" + logFile})
	tick(p, 0, 5)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	tick(p, 5, 200)
	p.Close()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if n := strings.Count(log, `msg="trace write failed"`); n != 1 {
		t.Fatalf("%d warnings about the trace, want 1:\n%s", n, log)
	}
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "MVNET_TRACE_MAX") || !strings.Contains(log, "no such file or directory") {
		t.Errorf("the warning does not say what failed:\n%s", log)
	}
}
