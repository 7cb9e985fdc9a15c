package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mvnet/mvnet/cloud/store"
)

// logEventJSON is the data of one SSE event of a log stream.
type logEventJSON struct {
	Seq  uint64 `json:"seq"`  // the store's StreamSeq, also the event's id
	Date string `json:"date"` // when the cloud received the line, RFC 3339 with nanoseconds
	Line string `json:"line"` // the line (invalid UTF-8 shows as U+FFFD)
}

// streamLogs serves GET /v1/Devices/{Sid}/Logs/Stream as Server-Sent
// Events: one event per line, id = StreamSeq, data = logEventJSON. It starts
// after the Last-Event-ID header's or the After parameter's StreamSeq, or at
// the first line stored at or after Since (RFC 3339), or else with the next
// new line, and follows until the client goes away.
func streamLogs(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	q, err := query(r, "Since", "After")
	if err != nil {
		return err
	}
	var from store.LogFrom
	since, hasSince := q["Since"]
	after, hasAfter := q["After"]
	if hasSince && hasAfter {
		return badParam("After", "cannot be combined with Since")
	}
	if hasSince {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return badParam("Since", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
		}
		from.Time = t
	}
	if hasAfter {
		n, err := strconv.ParseUint(after, 10, 64)
		if err != nil || n == ^uint64(0) {
			return badParam("After", "must be a log sequence number (a non-negative integer)")
		}
		from = store.LogFrom{Seq: n + 1}
	}
	// A reconnecting EventSource repeats the original URL and adds
	// Last-Event-ID: that wins.
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil || n == ^uint64(0) {
			return badParam("Last-Event-ID", "must be a log sequence number (a non-negative integer)")
		}
		from = store.LogFrom{Seq: n + 1}
	}
	if from.Seq == 0 && from.Time.IsZero() {
		from.New = true
	}
	d, err := h.st.GetDevice(r.Context(), a.device)
	if err != nil {
		return err
	}
	ctx := r.Context()
	lines, err := h.st.FollowLogs(ctx, d.Sid, from)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	// A stream outlives the server's ReadTimeout and WriteTimeout: no read
	// deadline (the server's read of the connection is what notices the
	// client going away), and a write deadline renewed before each write,
	// so that a client that stops reading is still cut off.
	_ = rc.SetReadDeadline(time.Time{})
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) }
	extend()
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, ": logs of %s\nretry: 2000\n\n", d.Sid); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	write := func(l store.LogLine) error {
		at := l.At
		if at.IsZero() {
			at = l.Stored
		}
		b, _ := json.Marshal(logEventJSON{Seq: l.StreamSeq, Date: at.UTC().Format(time.RFC3339Nano), Line: string(l.Line)})
		_, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", l.StreamSeq, b)
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			extend()
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return nil
			}
		case l, ok := <-lines:
			if !ok {
				return nil // the store closed
			}
			extend()
			if write(l) != nil {
				return nil
			}
		drain: // write what is ready before flushing
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						_ = rc.Flush()
						return nil
					}
					if write(l) != nil {
						return nil
					}
				default:
					break drain
				}
			}
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}
