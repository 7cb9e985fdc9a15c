package sdktest

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/runner"
)

// events counts the events of the trace a match accepts: lines written in
// full and the counts of repeat lines.
func (r result) events(match func(map[string]any) bool) (full, counted int) {
	for _, l := range r.trace {
		if l["kind"] == "repeat" {
			if ev, _ := l["event"].(map[string]any); ev != nil && match(ev) {
				counted += int(l["count"].(float64))
			}
		} else if match(l) {
			full++
		}
	}
	return full, counted
}

func isStatusPoll(l map[string]any) bool { return l["call"] == "mvGetNetworkStatus" }

func isLEDWrite(l map[string]any) bool {
	return l["kind"] == "gpio" && l["op"] == "write" && l["port"] == "GPIOA" && l["pin"] == float64(5)
}

// TestTracePollingLoopCollapses: an application polling
// mvGetNetworkStatus in a tight loop (200,000 times once CONNECTED) and
// writing its LED 100,000 times to the level it has leaves a trace of a
// few lines a second — each poll and write counted in a repeat line —
// where it used to write a line per call and reach the 64 MiB cap within
// seconds.
func TestTracePollingLoopCollapses(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "trace_poll", static)
	r := run(t, bin, nil, 120*time.Second, "200000", "100000", "0")
	if r.code != 0 {
		t.Fatalf("trace_poll: %v", r)
	}
	calls, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(r.stdout, "calls=")))
	if err != nil || calls < 200000 {
		t.Fatalf("output %q", r.stdout)
	}
	full, counted := r.events(isStatusPoll)
	if full+counted != calls || counted < 200000-1 {
		t.Errorf("%d mvGetNetworkStatus calls: %d lines in full and %d counted in repeat lines", calls, full, counted)
	}
	var connected bool
	for _, l := range r.lines("repeat") {
		ev := l["event"].(map[string]any)
		out, _ := ev["out"].(map[string]any)
		connected = connected || isStatusPoll(ev) && out["status"] == "MV_NETWORKSTATUS_CONNECTED" && l["count"].(float64) > 1
	}
	if !connected {
		t.Error("no repeat line for the polls that found CONNECTED")
	}
	if full, counted := r.events(isLEDWrite); full != 1 || counted != 100000-1 {
		t.Errorf("LED writes: %d in full, %d counted; want the first in full and 99,999 counted", full, counted)
	}
	// O(1) lines a second: a repeat line per repeating event at most every
	// second, and the lines around it.
	secs := (r.trace[len(r.trace)-1]["t"].(float64) - r.trace[0]["t"].(float64)) / 1e6
	if max := 60 + 10*int(secs); len(r.trace) > max {
		t.Errorf("%d trace lines in %.1f s, want at most %d", len(r.trace), secs, max)
	}
	t.Logf("%d calls, %d trace lines in %.2f s", calls, len(r.trace), secs)
}

// TestTraceCapKeepsNewestFromC: with a small MVNET_TRACE_MAX the trace file
// of 20,000 GPIO toggles stays under it, begins with the dropped line that
// accounts for every line it lost, and ends with the newest: the last
// toggles and the exit line.
func TestTraceCapKeepsNewestFromC(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "trace_poll", static)
	const max = 64 << 10
	const toggles = 20000
	r := run(t, bin, map[string]string{"MVNET_TRACE_MAX": strconv.Itoa(max)}, 120*time.Second, "0", "0", strconv.Itoa(toggles))
	if r.code != 0 {
		t.Fatalf("trace_poll: %v", r)
	}
	d := r.trace[0]
	if d["kind"] != "dropped" || d["max"] != float64(max) || d["lines"] != d["events"] {
		t.Fatalf("first line %v, want the dropped line", d)
	}
	kept := r.trace[1:]
	if kept[len(kept)-1]["kind"] != "exit" {
		t.Fatalf("last line %v, want exit", kept[len(kept)-1])
	}
	level := -1.0
	for _, l := range kept[:len(kept)-1] {
		if l["kind"] != "gpio" || l["op"] != "toggle" || (level >= 0 && l["level"] == level) {
			t.Fatalf("kept %v after a toggle to %v: the newest lines, in order, are not what the file holds", l, level)
		}
		level = l["level"].(float64)
	}
	if level != 0 { // an even number of toggles from 0
		t.Errorf("the last toggle kept is to %v, want the last toggle (to 0)", level)
	}
	// start, init, the toggles, exit.
	if all := int(d["lines"].(float64)) + len(kept); all != toggles+3 {
		t.Errorf("dropped %v lines and kept %d: %d, want %d", d["lines"], len(kept), all, toggles+3)
	}
}

// TestTranscriptShowsRepeats: mvnet run's transcript shows the polls as
// one line with the count and the result.
func TestTranscriptShowsRepeats(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "trace_poll", static)
	var stdout, transcript bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	err := runner.Run(ctx, runner.Options{App: bin, Args: []string{"20000", "500", "0"},
		Stdout: &stdout, Stderr: &stdout, Transcript: &transcript})
	if err != nil {
		t.Fatalf("mvnet run: %v\n%s", err, stdout.String())
	}
	var polls, writes bool
	for _, line := range strings.Split(transcript.String(), "\n") {
		polls = polls || strings.Contains(line, "×") && strings.Contains(line, "mvGetNetworkStatus(") &&
			strings.HasSuffix(line, "→ MV_STATUS_OKAY  status=MV_NETWORKSTATUS_CONNECTED")
		writes = writes || strings.Contains(line, "×499 in ") && strings.HasSuffix(line, "gpio level=1 op=write pin=5 port=GPIOA")
	}
	if !polls || !writes {
		t.Errorf("transcript lacks the repeated polls (%v) or LED writes (%v):\n%s", polls, writes, transcript.String())
	}
}
