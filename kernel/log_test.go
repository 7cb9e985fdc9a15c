package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// logInit gives the kernel a fresh log buffer of size bytes.
func (h *harness) logInit(size uint32) mem.Addr {
	h.t.Helper()
	buf := h.alloc(uint64(size), 512)
	wantStatus(h.t, "mvServerLoggingInit", h.k.ServerLoggingInit(buf, size), abi.StatusOkay)
	return buf
}

func (h *harness) logLine(s string) abi.Status {
	h.t.Helper()
	return h.k.ServerLog(h.place([]byte(s)), uint16(len(s)))
}

func isLog(f link.Frame) bool { return f.Type == link.FrameLog }

// logLines returns the LOG frames the cloud received, as "seq-offset:text"
// relative to base.
func (h *harness) logLines(base uint64) []string {
	var out []string
	for _, f := range h.cloud.received(isLog) {
		out = append(out, fmt.Sprintf("%d:%s", f.Seq-base, f.Payload))
	}
	return out
}

func TestServerLoggingInitStatuses(t *testing.T) {
	h := newHarness(t)
	wantStatus(t, "mvServerLog before init", h.logLine("hello"), abi.StatusUnavailable)
	wantStatus(t, "mvServerLog before init, bad pointer", h.k.ServerLog(0, 10), abi.StatusUnavailable)
	buf := h.alloc(4096, 512)
	for _, bad := range badWritePtrs {
		wantStatus(t, "init at "+bad.name, h.k.ServerLoggingInit(bad.addr, 512), abi.StatusParameterFault)
	}
	wantStatus(t, "misaligned", h.k.ServerLoggingInit(buf+256, 512), abi.StatusInvalidBufferAlignment)
	wantStatus(t, "misaligned and bad size", h.k.ServerLoggingInit(buf+16, 100), abi.StatusInvalidBufferAlignment)
	wantStatus(t, "size 0", h.k.ServerLoggingInit(buf, 0), abi.StatusInvalidBufferSize)
	wantStatus(t, "size 700", h.k.ServerLoggingInit(buf, 700), abi.StatusInvalidBufferSize)
	c := h.newCentre(40, 4)
	wantStatus(t, "over a notification ring", h.k.ServerLoggingInit(c.buf&^511, 512), abi.StatusParameterFault)
	wantStatus(t, "via Call", h.call("mvServerLoggingInit", uint64(buf), 1024), abi.StatusOkay)
	wantStatus(t, "again, same buffer", h.k.ServerLoggingInit(buf, 1024), abi.StatusOkay)
	wantStatus(t, "again, other length", h.k.ServerLoggingInit(buf, 512), abi.StatusParameterFault)
	// The kernel owns the buffer: the application cannot write it, and no
	// ring may overlap it.
	if err := h.a.CopyOut(buf, []byte("x")); err == nil {
		t.Fatal("the application wrote its log buffer")
	}
	wantStatus(t, "centre over the log buffer (write-protected)", h.setupRaw(41, buf+512, 32, h.out(4)), abi.StatusParameterFault)
}

func TestServerLogStatuses(t *testing.T) {
	h := newHarness(t, func(fc *fakeCloud, _ *kernel.Options) { fc.refuse = true }) // offline: nothing is acknowledged
	h.logInit(1024)
	for _, bad := range badReadPtrs {
		wantStatus(t, "message at "+bad.name, h.k.ServerLog(bad.addr, 8), abi.StatusParameterFault)
	}
	wantStatus(t, "empty line", h.k.ServerLog(0, 0), abi.StatusOkay)
	wantStatus(t, "513 bytes", h.logLine(strings.Repeat("m", 513)), abi.StatusLogMessageTooLong)
	wantStatus(t, "65535 bytes: no room before too long", h.logLine(strings.Repeat("m", 65535)), abi.StatusInvalidBufferSize)
	wantStatus(t, "512 bytes", h.logLine(strings.Repeat("m", 512)), abi.StatusOkay)
	// Used: 2 + 0 + 2 + 512 = 516 of 1024; 508 left: a 506-byte line fits
	// exactly, then nothing does.
	wantStatus(t, "507 bytes: no room", h.logLine(strings.Repeat("n", 507)), abi.StatusInvalidBufferSize)
	wantStatus(t, "600 bytes: no room before too long", h.logLine(strings.Repeat("n", 600)), abi.StatusInvalidBufferSize)
	wantStatus(t, "506 bytes", h.call("mvServerLog", uint64(h.place([]byte(strings.Repeat("n", 506)))), 506), abi.StatusOkay)
	wantStatus(t, "full", h.k.ServerLog(0, 0), abi.StatusInvalidBufferSize)
}

func TestServerLogDisabledByServer(t *testing.T) {
	h := newHarness(t)
	h.waitLink()
	h.logInit(1024)
	wantStatus(t, "enabled", h.logLine("one"), abi.StatusOkay)
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogging, Logging: false})
	h.cloud.sync(t)
	wantStatus(t, "disabled", h.logLine("two"), abi.StatusLoggingDisabledByServer)
	wantStatus(t, "disabled, too long first", h.logLine(strings.Repeat("x", 513)), abi.StatusLogMessageTooLong)
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogging, Logging: true})
	h.cloud.sync(t)
	wantStatus(t, "enabled again", h.logLine("three"), abi.StatusOkay)
	h.cloud.waitFrame(t, "line three", func(f link.Frame) bool { return isLog(f) && string(f.Payload) == "three" })
	lines := h.cloud.received(isLog)
	if len(lines) != 2 || lines[1].Seq != lines[0].Seq+1 {
		t.Fatalf("LOG frames %+v", lines)
	}
}

// Lines go out over the link Microvisor keeps before the application
// requests a network, and are acknowledged there.
func TestServerLogBeforeNetworkRequest(t *testing.T) {
	h := newHarness(t)
	h.waitLink()
	h.logInit(512)
	for i := range 3 {
		wantStatus(t, "mvServerLog", h.logLine(fmt.Sprintf("boot %d", i)), abi.StatusOkay)
	}
	f := h.cloud.waitFrame(t, "3 lines", func(f link.Frame) bool { return isLog(f) && string(f.Payload) == "boot 2" })
	base := f.Seq - 2
	if got, want := strings.Join(h.logLines(base), ","), "0:boot 0,1:boot 1,2:boot 2"; got != want {
		t.Fatalf("lines %s, want %s", got, want)
	}
	// Unacknowledged lines fill the buffer; a LOGACK frees them.
	n := 3
	for {
		if st := h.logLine(strings.Repeat("z", 100)); st != abi.StatusOkay {
			wantStatus(t, "buffer full", st, abi.StatusInvalidBufferSize)
			break
		}
		n++
	}
	var last []link.Frame
	eventually(t, "every line at the cloud", func() bool { last = h.cloud.received(isLog); return len(last) == n })
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: last[len(last)-1].Seq})
	h.cloud.sync(t)
	wantStatus(t, "after LOGACK", h.logLine(strings.Repeat("z", 400)), abi.StatusOkay)
}

// Lines logged while the link is down wait in the buffer and go out, in
// order and after the unacknowledged ones, when the link returns.
func TestServerLogOfflineThenReconnect(t *testing.T) {
	h := newHarness(t)
	h.waitLink()
	h.logInit(2048)
	for i := range 3 {
		wantStatus(t, "online", h.logLine(fmt.Sprintf("a%d", i)), abi.StatusOkay)
	}
	f := h.cloud.waitFrame(t, "a2", func(f link.Frame) bool { return isLog(f) && string(f.Payload) == "a2" })
	base := f.Seq - 2
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: base}) // a0 stored
	h.cloud.sync(t)
	h.cloud.setRefuse(true)
	h.cloud.drop(t)
	eventually(t, "link down", func() bool { return !h.k.LinkUp() })
	for i := range 3 {
		wantStatus(t, "offline", h.logLine(fmt.Sprintf("b%d", i)), abi.StatusOkay)
	}
	before := len(h.cloud.received(isLog))
	h.cloud.setRefuse(false)
	h.waitLink()
	h.cloud.waitFrame(t, "b2 after reconnect", func(f link.Frame) bool { return isLog(f) && string(f.Payload) == "b2" })
	h.cloud.sync(t)
	all := h.logLines(base)
	if got, want := strings.Join(all[before:], ","), "1:a1,2:a2,3:b0,4:b1,5:b2"; got != want {
		t.Fatalf("after reconnect the cloud got %s, want %s", got, want)
	}
	// A new line goes out once, after the re-sent ones.
	wantStatus(t, "online again", h.logLine("c0"), abi.StatusOkay)
	h.cloud.waitFrame(t, "c0", func(f link.Frame) bool { return isLog(f) && string(f.Payload) == "c0" })
	all = h.logLines(base)
	if got := all[len(all)-1]; got != "6:c0" {
		t.Fatalf("last line %s", got)
	}
	// A stale or premature LOGACK is ignored.
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: base - 5})
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: base + 100})
	h.cloud.sync(t)
	if !h.k.LinkUp() {
		t.Fatal(errors.New("link dropped"))
	}
}

// WaitLogsAcked returns at once with nothing pending, waits while lines
// are unacknowledged (a partial LOGACK is not enough), and returns when
// the last one is acknowledged.
func TestWaitLogsAcked(t *testing.T) {
	h := newHarness(t)
	h.waitLink()
	h.logInit(512)
	if err := h.k.WaitLogsAcked(t.Context()); err != nil {
		t.Fatalf("WaitLogsAcked with nothing logged: %v", err)
	}
	wantStatus(t, "mvServerLog", h.logLine("a"), abi.StatusOkay)
	wantStatus(t, "mvServerLog", h.logLine("b"), abi.StatusOkay)
	f := h.cloud.waitFrame(t, "both lines", func(f link.Frame) bool { return isLog(f) && string(f.Payload) == "b" })
	done := make(chan error, 1)
	go func() { done <- h.k.WaitLogsAcked(t.Context()) }()
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: f.Seq - 1}) // "a" only
	h.cloud.sync(t)
	if n := h.k.LogsPending(); n != 1 {
		t.Fatalf("LogsPending after acknowledging one of two: %d", n)
	}
	select {
	case err := <-done:
		t.Fatalf("WaitLogsAcked returned (%v) with a line pending", err)
	default:
	}
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: f.Seq})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitFor):
		t.Fatal("WaitLogsAcked did not return after the last LOGACK")
	}
	ctx, cancel := context.WithCancel(t.Context())
	wantStatus(t, "mvServerLog", h.logLine("c"), abi.StatusOkay)
	cancel()
	if err := h.k.WaitLogsAcked(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitLogsAcked with a line pending and ctx done: %v, want context.Canceled", err)
	}
}
