package runner

import (
	"bytes"
	"context"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slowWriter is a slow reader of the application's output: its first
// Write waits until the application's process (pid in pidFile) is gone
// and then a while longer than leftoverGrace — the runner used to stop
// reading the pipe leftoverGrace after the application exited and drop
// what was still in it.
type slowWriter struct {
	t       *testing.T
	pidFile string
	once    sync.Once
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		b, err := os.ReadFile(w.pidFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			w.t.Errorf("pid file: %v %q", err, b)
			return
		}
		if !poll.Wait(60*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }) {
			w.t.Errorf("the application (pid %d) did not exit within 60 s", pid)
			return
		}
		// A consumer slower than the grace: this is the condition under
		// test, not a wait for an event.
		time.Sleep(leftoverGrace + time.Second)
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestRunLosesNoOutputToASlowReader: an application prints (less than
// the pipe holds, so that it can exit) and exits while the runner is still
// blocked writing its first chunk to a slow stdout; every line arrives,
// also those still in the pipe.
func TestRunLosesNoOutputToASlowReader(t *testing.T) {
	const lines = 10000 // 48894 bytes
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	pidFile := filepath.Join(dir, "pid")
	script := "#!/bin/sh\necho $$ > " + pidFile + "\nseq 1 " + strconv.Itoa(lines) + "\n"
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := &slowWriter{t: t, pidFile: pidFile}
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := Run(ctx, Options{App: app, Stdout: out, Stderr: &stderr}); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 1; i <= lines; i++ {
		want.WriteString(strconv.Itoa(i) + "\n")
	}
	if got := out.buf.String(); got != want.String() {
		t.Fatalf("got %d lines of %d (stderr %q)", strings.Count(got, "\n"), lines, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Fatalf("stderr: %q", stderr.String())
	}
}

// TestRunSaysWhenAChildKeepsTheOutput: a process the application left
// running holds its stdout; the runner stops reading leftoverGrace after
// the pipe went quiet and says so on stderr.
func TestRunSaysWhenAChildKeepsTheOutput(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	pidFile := filepath.Join(dir, "child")
	script := "#!/bin/sh\n(echo child; exec sleep 120) &\necho $! > " + pidFile + "\necho parent\n"
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	// A file, as a terminal's stderr is: exec would otherwise wait for the
	// child to close a stderr pipe of its own.
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := Run(ctx, Options{App: app, Stdout: &out, Stderr: stderr}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "parent\n") {
		t.Errorf("stdout %q", out.String())
	}
	if b, _ := os.ReadFile(stderr.Name()); !strings.Contains(string(b), "still holds its stdout") {
		t.Errorf("stderr %q: the cut output is not reported", b)
	}
}

// notifyWriter tells when what it has received contains want.
type notifyWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestRunShowsAPromptAtOnce: text flushed without a newline reaches
// stdout while the application waits (for input, here for a file).
func TestRunShowsAPromptAtOnce(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	goFile := filepath.Join(dir, "go")
	script := "#!/bin/sh\nprintf 'prompt: '\nwhile [ ! -e " + goFile + " ]; do sleep 0.01; done\necho answered\n"
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := &notifyWriter{want: "prompt: ", seen: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{App: app, Stdout: out, Stderr: out}) }()
	select {
	case <-out.seen:
	case <-time.After(30 * time.Second):
		t.Error("the prompt did not reach stdout while the application waited")
	}
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if got := out.buf.String(); got != "prompt: answered\n" {
		t.Fatalf("stdout %q", got)
	}
}

// TestDemuxSplitsTheSameInAnyChunks: however reads cut the stream, the
// application's text and the trace lines come out the same and in order;
// only the possible start of a trace line is held back, and not beyond
// maxPending.
func TestDemuxSplitsTheSameInAnyChunks(t *testing.T) {
	const stream = "app 1\nunfinished {\"t\":7,\"kind\":\"exit\",\"status\":0}\n{\"t\":5,\"kind\":\"mine\"\n" +
		"{not a trace} {\"t\n{\"t\":8,\"kind\":\"link-up\",\"text\":\"link up\"}\ntail {\"t\":"
	const want = "app 1\nunfinished [{\"t\":7,\"kind\":\"exit\",\"status\":0}]{\"t\":5,\"kind\":\"mine\"\n" +
		"{not a trace} {\"t\n[{\"t\":8,\"kind\":\"link-up\",\"text\":\"link up\"}]tail {\"t\":"
	for size := 1; size <= len(stream); size++ {
		var out bytes.Buffer
		d := &demux{stdout: &out, transcript: bracket{&out}, raw: true}
		for i := 0; i < len(stream); i += size {
			d.feed(stream[i:min(i+size, len(stream))])
		}
		if d.pending != "tail {\"t\":"[5:] {
			t.Fatalf("chunks of %d: holds %q", size, d.pending)
		}
		d.out(d.pending)
		if got := out.String(); got != want {
			t.Fatalf("chunks of %d:\n got %q\nwant %q", size, got, want)
		}
	}
	var out bytes.Buffer
	d := &demux{stdout: &out}
	d.feed("> {")
	if out.String() != "> " || d.pending != "{" {
		t.Fatalf("wrote %q, holds %q", out.String(), d.pending)
	}
	d.feed(`"t":1,"kind":"` + strings.Repeat("x", maxPending))
	if d.pending != "" || out.Len() != 2+maxPending+len(`{"t":1,"kind":"`) {
		t.Fatalf("holds %d bytes past the cap", len(d.pending))
	}
}

// bracket writes what it is given between [ and ], without the newline.
type bracket struct{ w *bytes.Buffer }

func (b bracket) Write(p []byte) (int, error) {
	b.w.WriteString("[" + strings.TrimSuffix(string(p), "\n") + "]")
	return len(p), nil
}
