package session_test

import (
	"fmt"
	"reflect"
	"testing"

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
