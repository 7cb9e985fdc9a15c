package session_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/link"
)

func expectLogging(t *testing.T, d *fakedev.Device, want bool) {
	t.Helper()
	if f := d.NextLog(); f.Kind != link.ControlLogging || f.Logging != want {
		t.Fatalf("got %+v, want LOGGING %v", f, want)
	}
}

func expectAck(t *testing.T, d *fakedev.Device, seq uint64) {
	t.Helper()
	for {
		f := d.NextLog()
		if f.Kind != link.ControlLogAck {
			t.Fatalf("got %+v, want LOGACK", f)
		}
		if f.Seq == seq {
			return
		}
	}
}

func TestLogsStoredOnceAndAcknowledged(t *testing.T) {
	st := newMemStore()
	st.failLogs = 2 // retried until stored
	id := fakedev.ID(1)
	r := hello(t, session.Config{Logs: st})
	expectLogging(t, r.dev, true)
	var base uint64 = 1<<64 - 2 // wraps
	for i := range 4 {
		r.dev.Send(link.Frame{Type: link.FrameLog, Seq: base + uint64(i), Payload: []byte(fmt.Sprintf("line %d", i))})
	}
	expectAck(t, r.dev, base+3)
	// The device re-sends lines after a reconnect: stored once.
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: base + 2, Payload: []byte("line 2")})
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: base + 4, Payload: []byte("line 4")})
	expectAck(t, r.dev, base+4)
	var got []memLine
	for i := range 5 {
		got = append(got, memLine{base + uint64(i), fmt.Sprintf("line %d", i)})
	}
	if l := st.logged(id); !reflect.DeepEqual(l, got) {
		t.Fatalf("stored %+v, want %+v", l, got)
	}
}

func TestLoggingDisabled(t *testing.T) {
	st := newMemStore()
	id := fakedev.ID(1)
	st.disabled[id] = true
	r := hello(t, session.Config{Logs: st})
	expectLogging(t, r.dev, false)
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: 9, Payload: []byte("dropped")})
	expectAck(t, r.dev, 9) // acknowledged, not stored
	r.sess.SetLogging(true)
	expectLogging(t, r.dev, true)
	if !r.sess.LoggingEnabled() {
		t.Fatal("LoggingEnabled false after SetLogging(true)")
	}
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: 10, Payload: []byte("kept")})
	expectAck(t, r.dev, 10)
	if l := st.logged(id); !reflect.DeepEqual(l, []memLine{{10, "kept"}}) {
		t.Fatalf("stored %+v", l)
	}
}

func TestLogControlFromDeviceIsAProtocolError(t *testing.T) {
	r := hello(t, session.Config{})
	r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: 1})
	wantProtocolError(t, r, "cloud's to send")
}

// TestOverlongLogLineRefused is issue 8's hostile device: a LOG frame of 70
// KiB, which the store would refuse and the session would retry for ever,
// blocking the device's later lines. The cloud must end the link with
// CONTROL ERROR naming the limit, store nothing of it, and take the
// device's ordinary lines on its next link.
func TestOverlongLogLineRefused(t *testing.T) {
	st := newMemStore()
	id := fakedev.ID(1)
	devEnd, cloudEnd := link.Pipe()
	sess := session.New(cloudEnd, session.Config{Logs: st})
	errc := make(chan error, 1)
	go func() { errc <- sess.Run(context.Background()) }()
	frames := make(chan link.Frame, 16)
	go func() { // the hostile device's reader
		defer close(frames)
		br := bufio.NewReader(devEnd)
		for {
			f, err := link.ReadFrame(br)
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	helloFrame, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: id})
	if err != nil {
		t.Fatal(err)
	}
	// AppendFrame refuses such a LOG frame: write it by hand.
	line := bytes.Repeat([]byte("x"), 70<<10)
	raw := binary.BigEndian.AppendUint32(nil, uint32(1+8+len(line)))
	raw = append(raw, byte(link.FrameLog))
	raw = binary.BigEndian.AppendUint64(raw, 1)
	raw = append(raw, line...)
	if _, err := devEnd.Write(append(helloFrame, raw...)); err != nil {
		t.Fatalf("writing the frames: %v", err)
	}
	var errText string
	for f := range frames {
		if f.Type == link.FrameControl && f.Kind == link.ControlError {
			errText = string(f.Payload)
		}
	}
	devEnd.Close()
	if !strings.Contains(errText, "LOG line of 71680 bytes exceeds 512") {
		t.Fatalf("CONTROL ERROR %q, want one naming the LOG line limit", errText)
	}
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "exceeds 512") {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(fakedev.Wait):
		t.Fatal("the session did not end")
	}
	if l := st.logged(id); len(l) != 0 {
		t.Fatalf("stored %+v from a refused line", l)
	}
	// The device's later lines, on its next link, are taken.
	r := hello(t, session.Config{Logs: st})
	expectLogging(t, r.dev, true)
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: 2, Payload: []byte("later")})
	expectAck(t, r.dev, 2)
	if l := st.logged(id); !reflect.DeepEqual(l, []memLine{{2, "later"}}) {
		t.Fatalf("stored %+v", l)
	}
}
