package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LogEvent is one line of a device's server log, as the stream sends it.
type LogEvent struct {
	// Seq is the line's position in the store's log stream (the SSE id):
	// increasing, not consecutive for one device.
	Seq uint64 `json:"seq"`
	// Date is when the cloud received the line.
	Date time.Time `json:"date"`
	// Line is the logged line.
	Line string `json:"line"`
}

// StreamOptions say where a log stream starts and how it reconnects.
type StreamOptions struct {
	// Since starts at the first line stored at or after this time.
	Since time.Time
	// After, when set (and Since is zero), starts after the line with this
	// sequence number; 0 replays the whole stored history, as the API's
	// After=0 does. Neither: live lines only — and a drop before the first
	// line arrives reconnects live-only too, as there is no sequence number
	// yet to resume after.
	After *uint64
	// RetryMin is the first delay before reconnecting (default: the
	// server's retry field, else 2 s); it doubles per failed attempt up to
	// RetryMax (default 30 s) and starts over after a successful connect.
	RetryMin, RetryMax time.Duration
	// IdleTimeout drops a connection that has sent nothing, not even a
	// keepalive, for this long (default 45 s: the server sends one every
	// 15 s).
	IdleTimeout time.Duration
	// OnReconnect, if set, hears of each drop before the wait: the error,
	// the delay, and the last sequence number seen (0 for none).
	OnReconnect func(err error, delay time.Duration, lastSeq uint64)
}

// errDropped is a stream that ended without an error of its own.
var errDropped = errors.New("the stream ended")

// StreamLogs follows device's server log (SID or UniqueName), calling fn
// with each line in order, until ctx ends (then it returns nil) or fn
// returns an error (returned as it is). When the connection drops, it
// reconnects with Last-Event-ID set to the last line's sequence number, so
// no line is lost or repeated. Answers that will not change by retrying —
// 4xx such as a wrong token (401), an unknown device (404) or a bad
// parameter (400) — end it with the *Error.
func (c *Client) StreamLogs(ctx context.Context, device string, o StreamOptions, fn func(LogEvent) error) error {
	q := url.Values{}
	switch {
	case !o.Since.IsZero():
		q.Set("Since", o.Since.UTC().Format(time.RFC3339Nano))
	case o.After != nil:
		q.Set("After", strconv.FormatUint(*o.After, 10))
	}
	u := c.url("v1", "Devices", device, "Logs", "Stream")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 45 * time.Second
	}
	st := &sseState{retry: 2 * time.Second}
	if o.After != nil && o.Since.IsZero() {
		st.lastID, st.haveID = *o.After, true
	}
	failures := 0
	for {
		connected, err := c.streamOnce(ctx, u, o.IdleTimeout, st, fn)
		if ctx.Err() != nil {
			return nil
		}
		var ue *userError
		if errors.As(err, &ue) {
			return ue.err
		}
		var ae *Error
		if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusRequestTimeout {
			return err
		}
		if connected {
			failures = 0
		}
		delay := st.retry
		if o.RetryMin > 0 {
			delay = o.RetryMin
		}
		for i := 0; i < failures && delay < o.RetryMax; i++ {
			delay *= 2
		}
		delay = min(delay, o.RetryMax)
		failures++
		if o.OnReconnect != nil {
			var seq uint64
			if st.haveID {
				seq = st.lastID
			}
			o.OnReconnect(err, delay, seq)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// sseState is what outlives one connection of a stream.
type sseState struct {
	lastID uint64
	haveID bool
	retry  time.Duration
}

// userError carries an error of the caller's fn through streamOnce.
type userError struct{ err error }

func (e *userError) Error() string { return e.err.Error() }

// streamOnce runs one connection of a stream until it drops. connected
// reports whether the server accepted it.
func (c *Client) streamOnce(ctx context.Context, u string, idle time.Duration, st *sseState, fn func(LogEvent) error) (connected bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	if st.haveID {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(st.lastID, 10))
	}
	errIdle := fmt.Errorf("nothing received for %s", idle)
	watchdog := time.AfterFunc(idle, func() { cancel(errIdle) })
	defer watchdog.Stop()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause == errIdle {
			return false, cause
		}
		return false, fmt.Errorf("cloud at %s: %w", c.BaseURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, readError(resp)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("cloud at %s: the log stream answered %q, not text/event-stream", c.BaseURL, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		id      string
		hasID   bool
		data    strings.Builder
		hasData bool
	)
	for sc.Scan() {
		watchdog.Reset(idle)
		line := sc.Text()
		if line == "" { // dispatch
			if hasData {
				var ev LogEvent
				if err := json.Unmarshal([]byte(data.String()), &ev); err != nil {
					return true, fmt.Errorf("cloud at %s: bad log event %q: %w", c.BaseURL, data.String(), err)
				}
				if hasID {
					if n, err := strconv.ParseUint(id, 10, 64); err == nil {
						ev.Seq = n
					}
				}
				if err := fn(ev); err != nil {
					return true, &userError{err}
				}
				st.lastID, st.haveID = ev.Seq, true
			}
			id, hasID = "", false
			data.Reset()
			hasData = false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment: keepalive
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id, hasID = value, true
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms > 0 {
				st.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if cause := context.Cause(ctx); cause == errIdle {
		return true, cause
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	return true, errDropped
}
