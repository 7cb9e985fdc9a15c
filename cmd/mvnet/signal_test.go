package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
)

// envRunMain makes the test binary run main (TestMain): a test runs mvnet
// in a process of its own without building it.
const envRunMain = "MVNET_TEST_RUN_MAIN"

// signalWait bounds each wait for an event in TestSecondSignalEndsTheDrain.
const signalWait = 30 * time.Second

// runMain starts the test binary as `mvnet args…`.
func runMain(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	return cmd
}

// TestSecondSignalEndsTheDrain: SIGTERM starts a cloud node's drain; one
// of its devices ignores GOAWAY, so the drain waits (--drain-timeout 10m);
// a second SIGTERM ends the process at once, by the signal (it used to be
// swallowed: the process stayed until the drain timed out).
func TestSecondSignalEndsTheDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mvnet cloud serve in a process of its own")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := devca.Open(filepath.Join(data, devcaDir)); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "device.json")
	if out, err := runMain(t, "device", "create", "--data-dir", data, "--cloud-address", addr, "--out", bundle).CombinedOutput(); err != nil {
		t.Fatalf("mvnet device create: %v\n%s", err, out)
	}
	cmd := runMain(t, "cloud", "serve", "--data-dir", data, "--listen-devices", addr, "--listen-api", "",
		"--drain-timeout", "10m", "--idle-timeout", "10m")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{}) // closed once waitErr is set
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		waitErr = cmd.Wait()
		close(exited)
	}()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	errLines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case errLines <- sc.Text():
			default:
			}
		}
	}()
	waitLine := func(what string) {
		t.Helper()
		timeout := time.After(signalWait)
		for {
			select {
			case l := <-errLines:
				if strings.Contains(l, what) {
					return
				}
			case <-exited:
				t.Fatalf("mvnet cloud serve exited waiting for %q: %v", what, waitErr)
			case <-timeout:
				t.Fatalf("no %q from mvnet cloud serve", what)
			}
		}
	}
	waitLine("cloud serving")

	// A device that says HELLO and then ignores everything (GOAWAY too).
	b, err := device.LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), signalWait)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: b.DeviceSid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	if f, err := link.ReadFrame(r); err != nil || f.Type != link.FrameWelcome {
		t.Fatalf("HELLO answered with %v, %v; want WELCOME", f.Type, err)
	}
	goaway := make(chan struct{})
	go func() {
		for {
			f, err := link.ReadFrame(r)
			if err != nil {
				return
			}
			if f.Type == link.FrameControl && f.Kind == link.ControlGoAway {
				close(goaway)
			}
		}
	}()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine("draining")
	select {
	case <-goaway:
	case <-time.After(signalWait):
		t.Fatal("no GOAWAY after SIGTERM")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		err := waitErr
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("mvnet cloud serve after a second SIGTERM: %v, want killed by the signal", err)
		}
		ws, ok := ee.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("mvnet cloud serve ended with %v, want killed by SIGTERM", err)
		}
	case <-time.After(signalWait):
		t.Fatal("mvnet cloud serve still draining after a second SIGTERM")
	}
}
