package session_test

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

// goroutinesIn returns how many goroutines are running (or blocked in)
// one of the functions named, e.g. "session.(*outbox).run".
func goroutinesIn(names ...string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, name := range names {
			if strings.Contains(g, name+"(") {
				n++
				break
			}
		}
	}
	return n
}

// TestIdleSessionGoroutines: an idle session keeps only its reader
// goroutine (issue 11, memory per idle device: each goroutine costs at
// least a stack): no log storer, no delayed-frame sender, no link writer.
// A log line after that is still stored and acknowledged.
func TestIdleSessionGoroutines(t *testing.T) {
	idle := []string{"session.(*Session).runLogs", "session.(*Session).storeLogs", "session.(*outbox).run", "link.(*Conn).writeLoop"}
	r := hello(t, session.Config{Logs: newMemStore()})
	expectLogging(t, r.dev, true)
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: 1, Payload: []byte("one")})
	expectAck(t, r.dev, 1)
	poll.Within(t, 10*time.Second, "the idle session's helper goroutines to end", func() bool { return goroutinesIn(idle...) == 0 })
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: 2, Payload: []byte("two")})
	expectAck(t, r.dev, 2)
	r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlPing, Token: 9})
	poll.Within(t, 10*time.Second, "the session idle again", func() bool { return goroutinesIn(idle...) == 0 })
}

// TestRequestWorkersEnd: the goroutines that ran HTTP requests, kept a
// moment for the next ones, end once no request comes (an idle cloud has
// none), and a request after that is served.
func TestRequestWorkersEnd(t *testing.T) {
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) { w.Write([]byte("ok")) })
	get := func(ch uint32) {
		t.Helper()
		r.dev.Open(ch, httpCh, 1024, 512)
		r.dev.SendHTTP(ch, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000}, 512)
		r.dev.Expect(link.FrameCredit)
		if resp, _ := r.dev.ReadHTTP(ch, 1024); resp.Result != uint32(abi.HTTPResultOK) || string(resp.Body) != "ok" {
			t.Fatalf("response %+v", resp)
		}
		r.dev.Close(ch, uint8(abi.ClosureReasonClosedByApplication))
	}
	get(1)
	get(2)
	poll.Within(t, 30*time.Second, "the request workers to end", func() bool { return goroutinesIn("session.worker") == 0 })
	get(3)
}
