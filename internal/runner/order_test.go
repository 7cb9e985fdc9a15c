package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunKeepsTheOrderOfOutputAndTranscript: an application that prints
// between its system calls sees its lines and the transcript come out in
// the order they happened — also a line it flushed unfinished, and a line
// of its own that looks like JSON.
func TestRunKeepsTheOrderOfOutputAndTranscript(t *testing.T) {
	const rounds = 40
	var script strings.Builder
	script.WriteString("#!/bin/sh\n")
	script.WriteString(`echo '{"t":1,"kind":"start","device":"UV0","pid":1,"restarts":0}' >> "$MVNET_TRACE"` + "\n")
	var want []string
	want = append(want, "device UV0 started")
	for i := range rounds {
		fmt.Fprintf(&script, "echo 'app line %d'\n", i)
		fmt.Fprintf(&script, `echo '{"t":%d,"kind":"syscall","call":"mvGetHClk","args":{"hz":"0x%x"},"status":"MV_STATUS_OKAY"}' >> "$MVNET_TRACE"`+"\n", 10+i, i)
		want = append(want, fmt.Sprintf("app line %d\n", i), fmt.Sprintf("mvGetHClk(hz=0x%x) → MV_STATUS_OKAY\n", i))
	}
	script.WriteString("printf 'unfinished '\n")
	script.WriteString(`echo '{"t":90,"kind":"syscall","call":"mvGetSysClk","args":{"hz":"0x1"},"status":"MV_STATUS_OKAY"}' >> "$MVNET_TRACE"` + "\n")
	script.WriteString(`echo 'rest'; echo '{"kind":"mine","t":3}'; echo '{"t":5,"kind":"mine too"'` + "\n")
	script.WriteString(`echo '{"t":99,"kind":"exit","status":0}' >> "$MVNET_TRACE"` + "\n")
	want = append(want, "unfinished ", "mvGetSysClk(hz=0x1) → MV_STATUS_OKAY\n", "rest\n{\"kind\":\"mine\",\"t\":3}\n{\"t\":5,\"kind\":\"mine too\"\n", "exit 0\n")

	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.WriteFile(app, []byte(script.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "trace.jsonl")
	var out bytes.Buffer // stdout and the transcript together, as a terminal shows them
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, Options{App: app, Stdout: &out, Stderr: &out, Transcript: &out, TracePath: keep}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("%q is missing or out of order in:\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
	if strings.Count(got, "app line") != rounds || strings.Count(got, "mvGetHClk") != rounds {
		t.Fatalf("lines lost or repeated:\n%s", got)
	}
	b, err := os.ReadFile(keep)
	if err != nil || strings.Count(string(b), "\n") != rounds+3 || strings.Contains(string(b), "app line") || strings.Contains(string(b), "mine") {
		t.Fatalf("kept trace (%v):\n%s", err, b)
	}
}
