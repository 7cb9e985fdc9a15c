package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFormatRepeatAndDropped: a repeat line reads as the count, the time
// the events took and the event as its own line reads; the dropped line
// says how many events went and when.
func TestFormatRepeatAndDropped(t *testing.T) {
	for line, want := range map[string]string{
		`{"t":2401230,"kind":"repeat","count":2345,"first":1201007,"last":2400998,"event":{"kind":"syscall","call":"mvGetNetworkStatus","args":{"handle":"0x5f0c2d11","status":"0x7ffc18"},"status":"MV_STATUS_OKAY","out":{"status":"MV_NETWORKSTATUS_CONNECTED"}}}`: "" +
			" 2401.230 ms  ×2,345 in 1.2 s from 1201.007 ms: mvGetNetworkStatus(handle=0x5f0c2d11 status=0x7ffc18) → MV_STATUS_OKAY  status=MV_NETWORKSTATUS_CONNECTED",
		`{"t":900,"kind":"repeat","count":12,"first":100,"last":450,"event":{"kind":"gpio","op":"write","port":"GPIOA","pin":5,"level":1}}`: "" +
			"    0.900 ms  ×12 in 350 µs from 0.100 ms: gpio level=1 op=write pin=5 port=GPIOA",
		`{"t":5120344,"kind":"dropped","lines":81230,"events":3400211,"first":5,"last":5120344,"max":67108864}`: "" +
			" 5120.344 ms  ✂ 3,400,211 earlier events dropped (81,230 lines, 0.005–5120.344 ms): the trace file keeps the newest within MVNET_TRACE_MAX=67108864 bytes",
	} {
		if got := Format(line); got != want {
			t.Errorf("Format(%s)\n = %q\nwant %q", line, got, want)
		}
	}
}

// TestFormatKeepsOneLine: text with CR, LF or other control characters
// (UART data "\r\n", a lone "\r", a header's text, a server log line, a
// cloud diagnostic) stays on its transcript line, quoted.
func TestFormatKeepsOneLine(t *testing.T) {
	for line, want := range map[string]string{
		`{"t":5,"kind":"uart","op":"transmit","instance":"USART2","len":7,"data":"hello\r\n"}`:                                                        `data="hello\r\n"`,
		`{"t":5,"kind":"uart","op":"transmit","instance":"USART2","len":7,"data":"50%\rdone"}`:                                                        `data="50%\rdone"`,
		`{"t":5,"kind":"uart","raw":"\"op\":\"x\r\n"}`:                                                                                                `raw="\"op\":\"x\r\n"`,
		`{"t":5,"kind":"serverlog","seq":1,"line":"a\nb"}`:                                                                                            `line="a\nb"`,
		`{"t":5,"kind":"syscall","call":"mvReadHttpResponseHeader","args":{},"status":"MV_STATUS_OKAY","out":{"buf":"Content-Type: text/plain\r\n"}}`: `buf="Content-Type: text/plain\r\n"`,
		`{"t":5,"kind":"diagnostic","channel":"0x2a","text":"bad\nthing"}`:                                                                            `channel 0x2a: "bad\nthing"`,
		`{"t":5,"kind":"link-error","text":"x\ry"}`:                                                                                                   `link: "x\ry"`,
		`{"t":5,"kind":"uart","op":"transmit","data":"plain"}`:                                                                                        `data=plain`,
	} {
		got := Format(line)
		if strings.ContainsAny(got, "\r\n\x1b") || !strings.Contains(got, want) || strings.Contains(got, "seq") {
			t.Errorf("Format(%s) = %q, want one line with %s", line, got, want)
		}
	}
}

// TestRunKeepsNewestInTraceFile: the pipe from the application has no
// cap, so the transcript shows every line; the --trace file keeps the
// newest within MVNET_TRACE_MAX behind a dropped line.
func TestRunKeepsNewestInTraceFile(t *testing.T) {
	t.Setenv("MVNET_TRACE_MAX", "2000")
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	script := `#!/bin/sh
echo '{"t":1,"kind":"start","device":"UV0","pid":1,"restarts":0}' >> "$MVNET_TRACE"
i=0
while [ $i -lt 300 ]; do echo '{"t":'$((i+2))',"kind":"tick","n":'$i'}' >> "$MVNET_TRACE"; i=$((i+1)); done
`
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "trace.jsonl")
	var stdout, transcript bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, Options{App: app, TracePath: keep, Stdout: &stdout, Stderr: &stdout, Transcript: &transcript}); err != nil {
		t.Fatalf("Run = %v\n%s", err, stdout.String())
	}
	if n := strings.Count(transcript.String(), " tick n="); n != 300 {
		t.Errorf("the transcript shows %d of 300 lines", n)
	}
	b, err := os.ReadFile(keep)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 2000 {
		t.Errorf("the trace file holds %d bytes, over MVNET_TRACE_MAX=2000", len(b))
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var first, last struct {
		Kind         string
		N            int
		Lines, First int
	}
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil {
		t.Fatalf("trace file:\n%s", b)
	}
	// The dropped line counts the start line and the ticks before the
	// first one kept.
	if first.Kind != "dropped" || first.First != 1 || last.N != 299 || first.Lines != 1+300-(len(lines)-1) {
		t.Fatalf("trace file begins %s and ends %s (%d lines)", lines[0], lines[len(lines)-1], len(lines))
	}
}

// TestRunSaysWhenTheTraceFileCannotGoOn: the --trace file's directory is
// removed while the application runs; at the cap the file cannot be
// rewritten, and the runner says so once on stderr (the transcript still
// shows every line).
func TestRunSaysWhenTheTraceFileCannotGoOn(t *testing.T) {
	t.Setenv("MVNET_TRACE_MAX", "2000")
	dir := t.TempDir()
	keepDir := filepath.Join(dir, "keep")
	if err := os.Mkdir(keepDir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, "app")
	script := `#!/bin/sh
rm -rf '` + keepDir + `'
i=0
while [ $i -lt 300 ]; do echo '{"t":'$((i+2))',"kind":"tick","n":'$i'}' >> "$MVNET_TRACE"; i=$((i+1)); done
`
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(keepDir, "trace.jsonl")
	var stdout, stderr, transcript bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, Options{App: app, TracePath: keep, Stdout: &stdout, Stderr: &stderr, Transcript: &transcript}); err != nil {
		t.Fatalf("Run = %v\n%s", err, stderr.String())
	}
	if n := strings.Count(transcript.String(), " tick n="); n != 300 {
		t.Errorf("the transcript shows %d of 300 lines", n)
	}
	msg := stderr.String()
	if strings.Count(msg, "mvnet: trace file "+keep+": ") != 1 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "MVNET_TRACE_MAX") {
		t.Errorf("stderr %q, want one line saying the trace file cannot be kept", msg)
	}
}
