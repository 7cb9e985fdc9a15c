package sdktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// TestHostedSIGTERMCleansUp: a CI system stopping `mvnet run --api` with
// SIGTERM (a job's timeout or cancel) gets what Ctrl-C gets: the
// application stopped and the hosted cloud's temporary data (its device
// CA's key, the device's bundle, the store) and the --api-env file (the
// account's token) removed. Before mvnet took SIGTERM, the process died at
// once and left them, and the application, behind.
func TestHostedSIGTERMCleansUp(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	pidFile := filepath.Join(tmp, "app.pid")
	envFile := filepath.Join(tmp, "run.env")
	cmd := exec.Command(mvnetBinary(t), "run", "--api", "127.0.0.1:0", "--api-env", envFile,
		"--", "/bin/sh", "-c", `echo $$ > "$0"; exec sleep 300`, pidFile)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var pid int
	poll.Until(t, "the application to start and the env file to be written", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		_, err = os.Stat(envFile)
		return pid > 0 && err == nil
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("mvnet did not end within a minute of SIGTERM\n%s", out)
	}
	poll.Until(t, "the application to be gone", func() bool {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	})
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("the --api-env file is still there after SIGTERM (%v)", err)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "mvnet-*"))
	if len(left) > 0 {
		t.Errorf("left behind after SIGTERM: %v\n%s", left, out)
	}
}

// TestHostedRunCleansUp: a hosted run that ends normally leaves nothing in
// the temporary directory either.
func TestHostedRunCleansUp(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	envFile := filepath.Join(tmp, "run.env")
	cmd := exec.Command(mvnetBinary(t), "run", "--api", "127.0.0.1:0", "--api-env", envFile, "--", "/bin/sh", "-c", "exit 3")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("mvnet run: %v, want the application's exit status 3\n%s", err, out)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) > 0 {
		t.Errorf("left behind: %v\n%s", left, out)
	}
}
