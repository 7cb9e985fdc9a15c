package apiclient

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/api"
	"github.com/mvnet/mvnet/cloud/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	st  *store.Store
	srv *httptest.Server
	c   *Client

	mu       sync.Mutex
	lastIDs  []string // Last-Event-ID of each log stream request
	requests int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	sid, token, _, err := st.EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st}
	h := api.New(api.Options{Store: st, Logger: quiet,
		IssueDevice: func(_ context.Context, id string) ([]byte, error) {
			return []byte(`{"device_sid":"` + id + `"}`), nil
		}})
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.requests++
		if strings.HasSuffix(r.URL.Path, "/Logs/Stream") {
			e.lastIDs = append(e.lastIDs, r.Header.Get("Last-Event-ID"))
		}
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.c, err = New(e.srv.URL, sid, token)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func devID(n int) string { return fmt.Sprintf("UV%032x", n) }

func (e *env) register(t *testing.T, n int) string {
	t.Helper()
	d, err := e.st.RegisterDevice(context.Background(), devID(n))
	if err != nil {
		t.Fatal(err)
	}
	return d.Sid
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		if _, err := New(u, "a", "b"); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

func TestConfigsAndPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dev := e.register(t, 1)
	e.c.PageSize = 2 // five items: three pages

	keys := []string{"a", "b/c", "d e", "100%", "."}
	for i, k := range keys {
		c, created, err := e.c.SetConfig(ctx, "", k, fmt.Sprint("v", i))
		if err != nil || !created || c.Key != k || c.AccountSid == "" {
			t.Fatalf("SetConfig(%q) = %+v, %v, %v", k, c, created, err)
		}
	}
	c, created, err := e.c.SetConfig(ctx, "", "b/c", "changed")
	if err != nil || created || c.Value != "changed" {
		t.Fatalf("SetConfig update = %+v, %v, %v", c, created, err)
	}
	all, err := e.c.ListConfigs(ctx, "")
	if err != nil || len(all) != len(keys) {
		t.Fatalf("ListConfigs = %d items, %v", len(all), err)
	}
	got, err := e.c.GetConfig(ctx, "", "b/c")
	if err != nil || got.Value != "changed" {
		t.Fatalf("GetConfig = %+v, %v", got, err)
	}
	if err := e.c.DeleteConfig(ctx, "", "b/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetConfig(ctx, "", "b/c"); !IsStatus(err, 404) {
		t.Fatalf("GetConfig after delete: %v", err)
	}

	// Device scope, by SID and by UniqueName; isolated from the account's.
	name := "pump-7"
	if _, err := e.c.UpdateDevice(ctx, dev, DeviceUpdate{UniqueName: &name}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.c.SetConfig(ctx, "pump-7", "room", "kitchen"); err != nil {
		t.Fatal(err)
	}
	dc, err := e.c.ListConfigs(ctx, dev)
	if err != nil || len(dc) != 1 || dc[0].DeviceSid != dev || dc[0].Value != "kitchen" {
		t.Fatalf("device configs = %+v, %v", dc, err)
	}
	if _, err := e.c.GetConfig(ctx, "", "room"); !IsStatus(err, 404) {
		t.Fatalf("device key seen in account scope: %v", err)
	}

	// Validation errors come back as *Error naming the field.
	_, _, err = e.c.SetConfig(ctx, "", strings.Repeat("k", 101), "v")
	var ae *Error
	if !asError(err, &ae) || ae.Status != 400 || ae.Field != "Key" || !strings.Contains(ae.Error(), "Key:") {
		t.Fatalf("long key: %#v", err)
	}
	_, err = e.c.ListConfigs(ctx, devID(9))
	if !asError(err, &ae) || ae.Status != 404 || ae.Field != "DeviceSid" {
		t.Fatalf("unknown device: %#v", err)
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

func TestSecretsNeverCarryValues(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, created, err := e.c.SetSecret(ctx, "", "api-key", "hunter2")
	if err != nil || !created || s.Key != "api-key" || s.DateRotated == "" {
		t.Fatalf("SetSecret = %+v, %v, %v", s, created, err)
	}
	if _, created, err = e.c.SetSecret(ctx, "", "api-key", "hunter3"); err != nil || created {
		t.Fatalf("rotate: %v, %v", created, err)
	}
	l, err := e.c.ListSecrets(ctx, "")
	if err != nil || len(l) != 1 || l[0].Key != "api-key" {
		t.Fatalf("ListSecrets = %+v, %v", l, err)
	}
	if _, err := e.c.GetSecret(ctx, "", "api-key"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteSecret(ctx, "", "api-key"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteSecret(ctx, "", "api-key"); !IsStatus(err, 404) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		e.register(t, i)
	}
	e.c.PageSize = 1
	l, err := e.c.ListDevices(ctx)
	if err != nil || len(l) != 3 || l[0].Sid != devID(1) || l[2].Sid != devID(3) {
		t.Fatalf("ListDevices = %+v, %v", l, err)
	}
	name, off := "tank", false
	d, err := e.c.UpdateDevice(ctx, devID(2), DeviceUpdate{UniqueName: &name, LoggingEnabled: &off})
	if err != nil || d.Name() != "tank" || d.LoggingEnabled {
		t.Fatalf("UpdateDevice = %+v, %v", d, err)
	}
	d, err = e.c.GetDevice(ctx, "tank")
	if err != nil || d.Sid != devID(2) {
		t.Fatalf("GetDevice(tank) = %+v, %v", d, err)
	}
	empty := ""
	if d, err = e.c.UpdateDevice(ctx, "tank", DeviceUpdate{UniqueName: &empty}); err != nil || d.UniqueName != nil {
		t.Fatalf("remove name: %+v, %v", d, err)
	}
	if _, err := e.c.UpdateDevice(ctx, devID(1), DeviceUpdate{UniqueName: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UpdateDevice(ctx, devID(3), DeviceUpdate{UniqueName: &name}); !IsStatus(err, 409) {
		t.Fatalf("taken name: %v", err)
	}
}

func TestWrongTokenIs401(t *testing.T) {
	e := newEnv(t)
	c := *e.c
	c.AuthToken = strings.Repeat("0", 32)
	_, err := c.ListConfigs(context.Background(), "")
	if !IsStatus(err, 401) || !strings.Contains(err.Error(), "wrong account SID or auth token") {
		t.Fatalf("err = %v", err)
	}
	// A stream gives up on a 401 rather than retrying: a retrying stream
	// would run until the context ends and then return nil.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = c.StreamLogs(ctx, devID(1), StreamOptions{}, func(LogEvent) error { return nil })
	if !IsStatus(err, 401) {
		t.Fatalf("stream err = %v (context: %v)", err, ctx.Err())
	}
}

func TestStreamLogsReconnectsWithLastEventID(t *testing.T) {
	e := newEnv(t)
	dev := e.register(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var seq uint64
	appendLog := func(line string) {
		t.Helper()
		seq++
		if err := e.st.AppendLog(ctx, dev, seq, time.Now(), []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	appendLog("history 1")
	appendLog("history 2")

	got := make(chan LogEvent, 100)
	reconnects := make(chan uint64, 10)
	done := make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() {
		done <- e.c.StreamLogs(sctx, dev, StreamOptions{
			Since:    time.Now().Add(-time.Minute),
			RetryMin: 20 * time.Millisecond,
			OnReconnect: func(_ error, _ time.Duration, last uint64) {
				reconnects <- last
			},
		}, func(ev LogEvent) error {
			got <- ev
			return nil
		})
	}()
	next := func() LogEvent {
		t.Helper()
		select {
		case ev := <-got:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no log event")
		}
		return LogEvent{}
	}
	var lastSeq uint64
	for _, want := range []string{"history 1", "history 2"} {
		ev := next()
		if ev.Line != want || ev.Seq <= lastSeq || ev.Date.IsZero() {
			t.Fatalf("got %+v, want %q", ev, want)
		}
		lastSeq = ev.Seq
	}
	appendLog("live 3")
	if ev := next(); ev.Line != "live 3" {
		t.Fatalf("got %+v", ev)
	}

	// Drop the connection; lines stored meanwhile arrive once, in order.
	e.srv.CloseClientConnections()
	appendLog("during the drop 4")
	appendLog("during the drop 5")
	select {
	case last := <-reconnects:
		if last == 0 {
			t.Fatal("reconnect without a last sequence number")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnect")
	}
	for _, want := range []string{"during the drop 4", "during the drop 5"} {
		if ev := next(); ev.Line != want {
			t.Fatalf("got %+v, want %q", ev, want)
		}
	}
	appendLog("after 6")
	if ev := next(); ev.Line != "after 6" {
		t.Fatalf("got %+v", ev)
	}
	select {
	case ev := <-got:
		t.Fatalf("extra event %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("StreamLogs after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("StreamLogs did not stop with its context")
	}
	e.mu.Lock()
	ids := e.lastIDs
	e.mu.Unlock()
	if len(ids) < 2 || ids[0] != "" || ids[len(ids)-1] == "" {
		t.Fatalf("Last-Event-ID of the stream requests: %q", ids)
	}
}

func TestStreamLogsStopsOnCallbackError(t *testing.T) {
	e := newEnv(t)
	dev := e.register(t, 1)
	ctx := context.Background()
	if err := e.st.AppendLog(ctx, dev, 1, time.Now(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	boom := fmt.Errorf("boom")
	err := e.c.StreamLogs(ctx, dev, StreamOptions{Since: time.Now().Add(-time.Hour)}, func(LogEvent) error { return boom })
	if err != boom {
		t.Fatalf("err = %v", err)
	}
	// After 0 is the whole history too (the API's After=0).
	zero := uint64(0)
	err = e.c.StreamLogs(ctx, dev, StreamOptions{After: &zero}, func(LogEvent) error { return boom })
	if err != boom {
		t.Fatalf("After 0: err = %v", err)
	}
	// An unknown device is a 404 at once.
	err = e.c.StreamLogs(ctx, devID(7), StreamOptions{}, func(LogEvent) error { return nil })
	if !IsStatus(err, 404) {
		t.Fatalf("unknown device: %v", err)
	}
}

// A connection that goes silent (no lines, no keepalives) is dropped after
// IdleTimeout and reconnected.
func TestStreamLogsIdleTimeout(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get("Last-Event-ID"))
		n := len(ids)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "retry: 10\n\nid: %d\ndata: {\"seq\":%d,\"date\":\"2026-11-21T00:12:36Z\",\"line\":\"line %d\"}\n\n", n, n, n)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // then silence
	}))
	defer srv.Close()
	c, err := New(srv.URL, "AC", "tok")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	err = c.StreamLogs(ctx, devID(1), StreamOptions{IdleTimeout: 100 * time.Millisecond}, func(ev LogEvent) error {
		got = append(got, ev.Line)
		if len(got) == 3 {
			return io.EOF
		}
		return nil
	})
	if err != io.EOF || strings.Join(got, ",") != "line 1,line 2,line 3" {
		t.Fatalf("err %v, got %q", err, got)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(ids, ",") != ",1,2" {
		t.Fatalf("Last-Event-IDs %q", ids)
	}
}
