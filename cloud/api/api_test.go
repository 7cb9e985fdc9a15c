package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeCloud struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeCloud) SetLogging(id string, on bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s=%v", id, on))
	return true
}

func (f *fakeCloud) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

type env struct {
	t          *testing.T
	st         *store.Store
	srv        *httptest.Server
	cloud      *fakeCloud
	sid, token string
	inflight   atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with Options.IssueDevice set to issue.
func newEnvWith(t *testing.T, issue func(ctx context.Context, deviceID string) ([]byte, error)) *env {
	t.Helper()
	return newEnvServer(t, issue, nil)
}

// newEnvServer is newEnvWith; configure, if not nil, adjusts the test server
// before it starts (its Config and Listener).
func newEnvServer(t *testing.T, issue func(ctx context.Context, deviceID string) ([]byte, error), configure func(*httptest.Server)) *env {
	t.Helper()
	e := openEnv(t)
	e.serve(New(Options{Store: e.st, Cloud: e.cloud, Logger: quiet, IssueDevice: issue}), configure)
	return e
}

// openEnv opens a fresh store with its account; serve then serves a
// handler on it.
func openEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	sid, token, created, err := st.EnsureAccount(ctx)
	if err != nil || !created {
		t.Fatalf("EnsureAccount: %v, %v", created, err)
	}
	return &env{t: t, st: st, cloud: &fakeCloud{}, sid: sid, token: token}
}

// serve serves h; configure, if not nil, adjusts the test server before it
// starts.
func (e *env) serve(h http.Handler, configure func(*httptest.Server)) {
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.inflight.Add(1)
		defer e.inflight.Add(-1)
		h.ServeHTTP(w, r)
	}))
	if configure != nil {
		configure(e.srv)
	}
	e.srv.Start()
	e.t.Cleanup(e.srv.Close)
}

type resp struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// do sends a request with the account's credentials; path is already
// escaped; form, when non-nil, is the urlencoded body.
func (e *env) do(method, path string, form url.Values) resp {
	e.t.Helper()
	return e.doAuth(method, path, form, e.sid, e.token)
}

func (e *env) doAuth(method, path string, form url.Values, user, pass string) resp {
	e.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = e.srv.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, b)
		}
	}
	return r
}

func (e *env) want(r resp, status int) resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// wantErr checks an error response names field and holds rule.
func (e *env) wantErr(r resp, status int, field, rule string) {
	e.t.Helper()
	e.want(r, status)
	if r.body["status"] != float64(status) || r.body["code"] == nil {
		e.t.Errorf("error body %s: want status %d and a code", r.raw, status)
	}
	if f, _ := r.body["field"].(string); f != field {
		e.t.Errorf("error field %q, want %q (%s)", f, field, r.raw)
	}
	msg, _ := r.body["message"].(string)
	if field != "" && !strings.HasPrefix(msg, field+": ") {
		e.t.Errorf("message %q does not start with the field %q", msg, field)
	}
	if !strings.Contains(msg, rule) {
		e.t.Errorf("message %q does not hold the rule %q", msg, rule)
	}
}

func fv(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func devID(n int) string { return fmt.Sprintf("UV%032x", n) }

func (e *env) register(n int) string {
	e.t.Helper()
	d, err := e.st.RegisterDevice(context.Background(), devID(n))
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Sid
}

func items(r resp, key string) []map[string]any {
	var out []map[string]any
	for _, it := range r.body[key].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func keysOf(its []map[string]any, field string) []string {
	var out []string
	for _, it := range its {
		out = append(out, fmt.Sprint(it[field]))
	}
	return out
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, user, pass string
	}{
		{"none", "", ""},
		{"wrong token", e.sid, strings.Repeat("0", 32)},
		{"wrong sid", "AC" + strings.Repeat("0", 32), e.token},
		{"token as sid", e.token, e.sid},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.doAuth("GET", "/v1/Configs", nil, c.user, c.pass)
			e.wantErr(r, 401, "", "auth")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	e.t = t
	// Unauthenticated requests learn nothing about paths either.
	e.want(e.doAuth("GET", "/v1/Nope", nil, "", ""), 401)
	e.want(e.doAuth("POST", "/v1/Configs", fv("Key", "k", "Value", "v"), e.sid, "bad"), 401)
	if l, _ := e.st.ListConfigs(context.Background(), store.AccountScope, store.Page{}); len(l.Items) != 0 {
		t.Fatal("an unauthenticated POST wrote")
	}
	for range 2 { // the second is served from the verified-credential cache
		e.want(e.do("GET", "/v1/Configs", nil), 200)
	}
}

func TestConfigs(t *testing.T) {
	e := newEnv(t)
	dev := e.register(1)
	other := e.register(2)
	for _, base := range []string{"/v1/Configs", "/v1/Devices/" + dev + "/Configs"} {
		t.Run(base, func(t *testing.T) {
			e.t = t
			r := e.want(e.do("POST", base, fv("Key", "broker", "Value", "mqtt.example.com")), 201)
			if r.body["key"] != "broker" || r.body["value"] != "mqtt.example.com" || r.body["url"] != e.srv.URL+base+"/broker" {
				t.Fatalf("created: %s", r.raw)
			}
			if strings.Contains(base, "Devices") {
				if r.body["device_sid"] != dev {
					t.Errorf("device_sid: %s", r.raw)
				}
			} else if r.body["account_sid"] != e.sid {
				t.Errorf("account_sid: %s", r.raw)
			}
			created := r.body["date_created"]
			if _, err := time.Parse(time.RFC3339, created.(string)); err != nil {
				t.Errorf("date_created: %v", err)
			}
			e.wantErr(e.do("POST", base, fv("Key", "broker", "Value", "x")), 409, "Key", "already exists")

			r = e.want(e.do("GET", base+"/broker", nil), 200)
			if r.body["value"] != "mqtt.example.com" {
				t.Fatalf("fetched: %s", r.raw)
			}
			r = e.want(e.do("POST", base+"/broker", fv("Value", "mqtt2.example.com")), 200)
			if r.body["value"] != "mqtt2.example.com" || r.body["date_created"] != created {
				t.Fatalf("updated: %s", r.raw)
			}
			e.want(e.do("POST", base, fv("Key", "port", "Value", "8883")), 201)
			r = e.want(e.do("GET", base, nil), 200)
			if got := keysOf(items(r, "configs"), "key"); !slices.Equal(got, []string{"broker", "port"}) {
				t.Fatalf("listed %v", got)
			}
			if got := keysOf(items(r, "configs"), "value"); !slices.Equal(got, []string{"mqtt2.example.com", "8883"}) {
				t.Fatalf("listed %v", got)
			}
			m := r.body["meta"].(map[string]any)
			if m["key"] != "configs" || m["page_size"] != 50.0 || m["page"] != 0.0 || m["next_page_url"] != nil || m["previous_page_url"] != nil {
				t.Fatalf("meta: %v", m)
			}

			e.wantErr(e.do("POST", base+"/nope", fv("Value", "x")), 404, "Key", "no such key")
			e.wantErr(e.do("GET", base+"/nope", nil), 404, "Key", "no such key")
			r = e.want(e.do("DELETE", base+"/broker", nil), 204)
			if r.raw != "" {
				t.Errorf("204 with a body: %q", r.raw)
			}
			e.wantErr(e.do("DELETE", base+"/broker", nil), 404, "Key", "no such key")
			e.wantErr(e.do("GET", base+"/broker", nil), 404, "Key", "no such key")
		})
	}
	e.t = t
	// Scopes are separate: the other device sees none of dev's, the account
	// none of either.
	r := e.want(e.do("GET", "/v1/Devices/"+other+"/Configs", nil), 200)
	if len(items(r, "configs")) != 0 {
		t.Fatalf("another device's configs: %s", r.raw)
	}
	r = e.want(e.do("GET", "/v1/Configs", nil), 200)
	if got := keysOf(items(r, "configs"), "key"); !slices.Equal(got, []string{"port"}) {
		t.Fatalf("account configs %v", got)
	}
	// Unknown devices.
	e.wantErr(e.do("GET", "/v1/Devices/"+devID(9)+"/Configs", nil), 404, "DeviceSid", "no such device")
	e.wantErr(e.do("POST", "/v1/Devices/"+devID(9)+"/Configs", fv("Key", "a", "Value", "b")), 404, "DeviceSid", "no such device")
	e.wantErr(e.do("GET", "/v1/Devices/nobody/Configs/a", nil), 404, "DeviceSid", "no device")
}

func TestKeysNeedingEscapes(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{"a/b", "?x=1&y#z", "100%", ".", "..", " spaced out ", "a//b", `"quoted"\`} {
		r := e.want(e.do("POST", "/v1/Configs", fv("Key", key, "Value", "v:"+key)), 201)
		u := r.body["url"].(string)
		if u != e.srv.URL+"/v1/Configs/"+url.PathEscape(key) {
			t.Errorf("url %q", u)
		}
		r = e.want(e.do("GET", u, nil), 200)
		if r.body["key"] != key || r.body["value"] != "v:"+key {
			t.Errorf("%q fetched as %s", key, r.raw)
		}
		e.want(e.do("POST", u, fv("Value", "w")), 200)
		e.want(e.do("POST", "/v1/Secrets", fv("Key", key, "Value", "s")), 201)
		e.want(e.do("GET", "/v1/Secrets/"+url.PathEscape(key), nil), 200)
	}
	r := e.want(e.do("GET", "/v1/Configs", nil), 200)
	if n := len(items(r, "configs")); n != 8 {
		t.Fatalf("%d configs", n)
	}
	for _, it := range items(r, "configs") {
		e.want(e.do("DELETE", it["url"].(string), nil), 204)
	}
}

func TestSecretsWriteOnly(t *testing.T) {
	e := newEnv(t)
	dev := e.register(1)
	const v1, v2 = "s3cr3t-value-one", "s3cr3t-value-two"
	for _, base := range []string{"/v1/Secrets", "/v1/Devices/" + dev + "/Secrets"} {
		var seen []string
		check := func(r resp, fields ...string) {
			t.Helper()
			seen = append(seen, r.raw)
			obj := r.body
			if fields == nil {
				return
			}
			var got []string
			for k := range obj {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, fields) {
				t.Errorf("secret fields %v, want %v", got, fields)
			}
		}
		scopeField := "account_sid"
		if strings.Contains(base, "Devices") {
			scopeField = "device_sid"
		}
		fields := []string{scopeField, "date_rotated", "key", "url"}
		slices.Sort(fields)
		check(e.want(e.do("POST", base, fv("Key", "api", "Value", v1)), 201), fields...)
		e.wantErr(e.do("POST", base, fv("Key", "api", "Value", v1)), 409, "Key", "already exists")
		r := e.want(e.do("GET", base+"/api", nil), 200)
		check(r, fields...)
		rotated := r.body["date_rotated"].(string)
		if _, err := time.Parse(time.RFC3339, rotated); err != nil {
			t.Fatal(err)
		}
		check(e.want(e.do("POST", base+"/api", fv("Value", v2)), 200), fields...)
		r = e.want(e.do("GET", base, nil), 200)
		check(r)
		its := items(r, "secrets")
		if len(its) != 1 {
			t.Fatalf("secrets: %s", r.raw)
		}
		var got []string
		for k := range its[0] {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, fields) {
			t.Errorf("listed secret fields %v", got)
		}
		for _, raw := range seen {
			if strings.Contains(raw, "s3cr3t") {
				t.Fatalf("a secret value was revealed: %s", raw)
			}
		}
		// The device reads what the API never shows.
		sc := abi.ConfigKeyFetchScopeAccount
		if scopeField == "device_sid" {
			sc = abi.ConfigKeyFetchScopeDevice
		}
		if v, ok, err := e.st.Fetch(context.Background(), dev, sc, abi.ConfigKeyFetchStoreSecret, "api"); err != nil || !ok || string(v) != v2 {
			t.Fatalf("device Fetch = %q, %v, %v", v, ok, err)
		}
		e.want(e.do("DELETE", base+"/api", nil), 204)
		e.wantErr(e.do("GET", base+"/api", nil), 404, "Key", "no such key")
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("key%02d", i)
		want = append(want, k)
		e.want(e.do("POST", "/v1/Configs", fv("Key", k, "Value", "v")), 201)
	}
	var pages [][]string
	var metas []map[string]any
	next := "/v1/Configs?PageSize=3"
	for next != "" {
		r := e.want(e.do("GET", next, nil), 200)
		pages = append(pages, keysOf(items(r, "configs"), "key"))
		m := r.body["meta"].(map[string]any)
		metas = append(metas, m)
		next, _ = m["next_page_url"].(string)
		if len(pages) > 5 {
			t.Fatal("paging does not end")
		}
	}
	if got := fmt.Sprint(pages); got != "[[key00 key01 key02] [key03 key04 key05] [key06]]" {
		t.Fatalf("pages %s", got)
	}
	for i, m := range metas {
		if m["page"] != float64(i) || m["page_size"] != 3.0 || m["key"] != "configs" {
			t.Errorf("meta %d: %v", i, m)
		}
		if (m["previous_page_url"] == nil) != (i == 0) {
			t.Errorf("meta %d previous_page_url %v", i, m["previous_page_url"])
		}
		if !strings.HasPrefix(m["first_page_url"].(string), e.srv.URL+"/v1/Configs?") {
			t.Errorf("first_page_url %v", m["first_page_url"])
		}
		// url is this very page.
		r := e.want(e.do("GET", m["url"].(string), nil), 200)
		if got := keysOf(items(r, "configs"), "key"); !slices.Equal(got, pages[i]) {
			t.Errorf("meta %d url gives %v", i, got)
		}
	}
	// Back from the last page.
	prev := metas[2]["previous_page_url"].(string)
	r := e.want(e.do("GET", prev, nil), 200)
	if got := keysOf(items(r, "configs"), "key"); !slices.Equal(got, pages[1]) {
		t.Fatalf("previous of the last page: %v", got)
	}
	prev = r.body["meta"].(map[string]any)["previous_page_url"].(string)
	r = e.want(e.do("GET", prev, nil), 200)
	if got := keysOf(items(r, "configs"), "key"); !slices.Equal(got, pages[0]) {
		t.Fatalf("previous of the second page: %v", got)
	}
	if m := r.body["meta"].(map[string]any); m["previous_page_url"] != nil || m["page"] != 0.0 {
		t.Fatalf("back on the first page: %v", m)
	}
	r = e.want(e.do("GET", metas[2]["first_page_url"].(string), nil), 200)
	if got := keysOf(items(r, "configs"), "key"); !slices.Equal(got, pages[0]) {
		t.Fatalf("first page %v", got)
	}
	// Page size limits.
	r = e.want(e.do("GET", "/v1/Configs?PageSize=1000", nil), 200)
	if got := keysOf(items(r, "configs"), "key"); !slices.Equal(got, want) {
		t.Fatalf("all %v", got)
	}
	for _, q := range []string{"PageSize=1001", "PageSize=0", "PageSize=-1", "PageSize=ten"} {
		e.wantErr(e.do("GET", "/v1/Configs?"+q, nil), 400, "PageSize", "must be an integer from 1 to 1000")
		e.wantErr(e.do("GET", "/v1/Devices?"+q, nil), 400, "PageSize", "must be an integer from 1 to 1000")
	}
	e.wantErr(e.do("GET", "/v1/Configs?PageToken=garbage!", nil), 400, "PageToken", "not a token")
	e.wantErr(e.do("GET", "/v1/Secrets?Page=x&PageToken=abc", nil), 400, "Page", "non-negative")
	e.wantErr(e.do("GET", "/v1/Configs?Pagesize=10", nil), 400, "Pagesize", "is not a parameter")
	e.wantErr(e.do("GET", "/v1/Configs?PageSize=1&PageSize=2", nil), 400, "PageSize", "given once")
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	a, b := e.register(1), e.register(2)
	r := e.want(e.do("GET", "/v1/Devices", nil), 200)
	its := items(r, "devices")
	if got := keysOf(its, "sid"); !slices.Equal(got, []string{a, b}) {
		t.Fatalf("devices %v", got)
	}
	if its[0]["unique_name"] != nil || its[0]["logging_enabled"] != true || its[0]["account_sid"] != e.sid || its[0]["url"] != e.srv.URL+"/v1/Devices/"+a {
		t.Fatalf("device %v", its[0])
	}
	if r.body["meta"].(map[string]any)["key"] != "devices" {
		t.Fatalf("meta %v", r.body["meta"])
	}
	r = e.want(e.do("GET", "/v1/Devices/"+a, nil), 200)
	links := r.body["links"].(map[string]any)
	if links["device_configs"] != e.srv.URL+"/v1/Devices/"+a+"/Configs" || links["logs_stream"] != e.srv.URL+"/v1/Devices/"+a+"/Logs/Stream" {
		t.Fatalf("links %v", links)
	}

	// UniqueName.
	r = e.want(e.do("POST", "/v1/Devices/"+a, fv("UniqueName", "kitchen sensor")), 200)
	if r.body["unique_name"] != "kitchen sensor" {
		t.Fatalf("updated %s", r.raw)
	}
	r = e.want(e.do("GET", "/v1/Devices/"+url.PathEscape("kitchen sensor"), nil), 200)
	if r.body["sid"] != a {
		t.Fatalf("by name %s", r.raw)
	}
	e.want(e.do("POST", "/v1/Devices/kitchen%20sensor/Configs", fv("Key", "room", "Value", "kitchen")), 201)
	if c, err := e.st.GetConfig(context.Background(), store.DeviceScope(a), "room"); err != nil || string(c.Value) != "kitchen" {
		t.Fatalf("device config by name: %v %v", c, err)
	}
	r = e.want(e.do("GET", "/v1/Devices/kitchen%20sensor/Configs/room", nil), 200)
	if r.body["device_sid"] != a || r.body["url"] != e.srv.URL+"/v1/Devices/"+a+"/Configs/room" {
		t.Fatalf("by name %s", r.raw)
	}
	e.wantErr(e.do("POST", "/v1/Devices/"+b, fv("UniqueName", "kitchen sensor")), 409, "UniqueName", "")
	e.wantErr(e.do("POST", "/v1/Devices/"+b, fv("UniqueName", devID(7))), 400, "UniqueName", "must not look like a device SID")
	e.wantErr(e.do("POST", "/v1/Devices/"+b, fv("UniqueName", strings.Repeat("n", 256))), 400, "UniqueName", "must be 1 to 255")
	e.wantErr(e.do("POST", "/v1/Devices/"+b, fv("UniqueName", "tab\there")), 400, "UniqueName", "control characters")

	// LoggingEnabled, pushed to the cloud.
	if got := e.cloud.got(); len(got) != 0 {
		t.Fatalf("SetLogging called: %v", got)
	}
	r = e.want(e.do("POST", "/v1/Devices/kitchen%20sensor", fv("LoggingEnabled", "false")), 200)
	if r.body["logging_enabled"] != false || r.body["unique_name"] != "kitchen sensor" {
		t.Fatalf("updated %s", r.raw)
	}
	if on, _ := e.st.LoggingEnabled(context.Background(), a); on {
		t.Fatal("the store still has logging enabled")
	}
	e.wantErr(e.do("POST", "/v1/Devices/"+b, fv("LoggingEnabled", "nope", "UniqueName", "garage")), 400, "LoggingEnabled", "must be true or false")
	if d, _ := e.st.GetDevice(context.Background(), b); d.UniqueName != "" {
		t.Fatal("a rejected update wrote the UniqueName")
	}
	e.want(e.do("POST", "/v1/Devices/"+b, fv("LoggingEnabled", "True", "UniqueName", "garage")), 200)
	e.want(e.do("POST", "/v1/Devices/"+a, fv("UniqueName", "")), 200)
	if got, want := e.cloud.got(), []string{a + "=false", b + "=true"}; !slices.Equal(got, want) {
		t.Fatalf("SetLogging calls %v, want %v", got, want)
	}
	r = e.want(e.do("GET", "/v1/Devices/"+a, nil), 200)
	if r.body["unique_name"] != nil || r.body["logging_enabled"] != false {
		t.Fatalf("after clearing the name: %s", r.raw)
	}
	e.wantErr(e.do("GET", "/v1/Devices/kitchen%20sensor", nil), 404, "DeviceSid", "no device")
	e.wantErr(e.do("GET", "/v1/Devices/"+devID(9), nil), 404, "DeviceSid", "no such device")
	e.wantErr(e.do("POST", "/v1/Devices/"+devID(9), fv("LoggingEnabled", "true")), 404, "DeviceSid", "no such device")
	e.wantErr(e.do("POST", "/v1/Devices/"+a, fv("Sid", "x")), 400, "Sid", "is not a parameter")

	// Paging devices.
	r = e.want(e.do("GET", "/v1/Devices?PageSize=1", nil), 200)
	next := r.body["meta"].(map[string]any)["next_page_url"].(string)
	r = e.want(e.do("GET", next, nil), 200)
	if got := keysOf(items(r, "devices"), "sid"); !slices.Equal(got, []string{b}) {
		t.Fatalf("second page %v", got)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	dev := e.register(1)
	for _, base := range []string{"/v1/Configs", "/v1/Secrets", "/v1/Devices/" + dev + "/Configs", "/v1/Devices/" + dev + "/Secrets"} {
		t.Run(base, func(t *testing.T) {
			e.t = t
			rule := "must be 1 to 100 characters of printable ASCII"
			e.wantErr(e.do("POST", base, fv("Key", strings.Repeat("k", 101), "Value", "v")), 400, "Key", rule)
			e.wantErr(e.do("POST", base, fv("Key", "", "Value", "v")), 400, "Key", rule)
			e.wantErr(e.do("POST", base, fv("Key", "caf\u00e9", "Value", "v")), 400, "Key", "printable ASCII")
			e.wantErr(e.do("POST", base, fv("Key", "a\nb", "Value", "v")), 400, "Key", "printable ASCII")
			e.wantErr(e.do("POST", base, fv("Value", "v")), 400, "Key", "is required")
			e.wantErr(e.do("POST", base, fv("Key", "k")), 400, "Value", "is required")
			e.wantErr(e.do("POST", base, fv("Key", "k", "Value", strings.Repeat("v", 4097))), 400, "Value", "must be at most 4096 bytes")
			e.wantErr(e.do("POST", base, fv("Key", "k", "Value", "\xff")), 400, "Value", "UTF-8")
			e.wantErr(e.do("POST", base, fv("Key", "k", "Value", "v", "Colour", "red")), 400, "Colour", "is not a parameter of this endpoint")
			e.wantErr(e.do("POST", base, fv("Key", "k", "Value", "v", "Value", "w")), 400, "Value", "must be given once")
			e.wantErr(e.do("POST", base+"?Key=k&Value=v", nil), 400, "", "form body")
			e.wantErr(e.do("POST", base+"/"+strings.Repeat("k", 101), fv("Value", "v")), 400, "Key", rule)
			e.wantErr(e.do("GET", base+"/"+strings.Repeat("k", 101), nil), 400, "Key", rule)

			// Not a form.
			req, _ := http.NewRequest("POST", e.srv.URL+base, strings.NewReader(`{"Key":"k","Value":"v"}`))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth(e.sid, e.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 415 {
				t.Errorf("JSON body: status %d, want 415", res.StatusCode)
			}
			// Too big.
			e.want(e.do("POST", base, fv("Key", "k", "Value", strings.Repeat("v", MaxBodyBytes))), 413)

			// The largest accepted.
			e.want(e.do("POST", base, fv("Key", strings.Repeat("~", 100), "Value", strings.Repeat("v", 4096))), 201)
			e.want(e.do("POST", base, fv("Key", "empty", "Value", "")), 201)
			e.wantErr(e.do("POST", base+"/empty", fv("Value", strings.Repeat("v", 4097))), 400, "Value", "4096")
			// Nothing else was written.
			r := e.want(e.do("GET", base, nil), 200)
			key := "configs"
			if strings.HasSuffix(base, "Secrets") {
				key = "secrets"
			}
			if got := keysOf(items(r, key), "key"); !slices.Equal(got, []string{"empty", strings.Repeat("~", 100)}) {
				t.Fatalf("after rejected writes: %v", got)
			}
		})
	}
}

func TestMethodsAndPaths(t *testing.T) {
	e := newEnv(t)
	dev := e.register(1)
	for _, c := range []struct {
		method, path, allow string
	}{
		{"DELETE", "/v1/Configs", "GET, POST"},
		{"PUT", "/v1/Configs/k", "DELETE, GET, POST"},
		{"PATCH", "/v1/Devices/" + dev + "/Secrets/k", "DELETE, GET, POST"},
		{"DELETE", "/v1/Devices", "GET, POST"},
		{"PUT", "/v1/Devices/" + dev, "DELETE, GET, POST"},
		{"POST", "/v1/Devices/" + dev + "/Logs/Stream", "GET"},
	} {
		r := e.do(c.method, c.path, nil)
		e.wantErr(r, 405, "", "not allowed")
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	for _, p := range []string{"/", "/v1", "/v2/Configs", "/v1/Nope", "/v1/Configs/a/b", "/v1/Devices/", "/v1/Devices//Configs", "/v1/Devices/" + dev + "/Logs", "/v1/Devices/" + dev + "/Nope"} {
		e.wantErr(e.do("GET", p, nil), 404, "", "not found")
	}
}

// sse reads events from a stream.
type sse struct {
	res    *http.Response
	events chan map[string]string
}

func (e *env) stream(path string, header http.Header) *sse {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	req.SetBasicAuth(e.sid, e.token)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		b, _ := io.ReadAll(res.Body)
		e.t.Fatalf("stream: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	s := &sse{res: res, events: make(chan map[string]string, 100)}
	go func() {
		defer close(s.events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		ev := map[string]string{}
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev["data"] != "" {
					s.events <- ev
				}
				ev = map[string]string{}
			case strings.HasPrefix(line, ":"):
			default:
				k, v, _ := strings.Cut(line, ":")
				ev[k] = strings.TrimPrefix(v, " ")
			}
		}
	}()
	return s
}

type logEvent struct {
	id   string
	Seq  uint64 `json:"seq"`
	Date string `json:"date"`
	Line string `json:"line"`
}

func (s *sse) next(t *testing.T) logEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("stream ended")
		}
		var le logEvent
		if err := json.Unmarshal([]byte(ev["data"]), &le); err != nil {
			t.Fatalf("event data %q: %v", ev["data"], err)
		}
		le.id = ev["id"]
		if le.id != fmt.Sprint(le.Seq) {
			t.Fatalf("event id %q, seq %d", le.id, le.Seq)
		}
		return le
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	panic("unreachable")
}

func (s *sse) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Fatalf("unexpected event %v", ev)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestLogStream(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dev := e.register(1)
	other := e.register(2)
	e.want(e.do("POST", "/v1/Devices/"+dev, fv("UniqueName", "pump")), 200)
	t0 := time.Now().UTC().Add(-time.Second)
	appendLog := func(id string, seq uint64, line string) {
		t.Helper()
		if err := e.st.AppendLog(ctx, id, seq, time.Now(), []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	for i := uint64(1); i <= 3; i++ {
		appendLog(dev, i, fmt.Sprint("old ", i))
		appendLog(other, i, fmt.Sprint("other ", i))
	}

	// Replay from a time, then follow.
	s := e.stream("/v1/Devices/pump/Logs/Stream?Since="+t0.Format(time.RFC3339Nano), nil)
	var got []logEvent
	for range 3 {
		got = append(got, s.next(t))
	}
	for i, ev := range got {
		if ev.Line != fmt.Sprint("old ", i+1) {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Date); err != nil {
			t.Fatal(err)
		}
	}
	live := e.stream("/v1/Devices/"+dev+"/Logs/Stream", nil) // new lines only
	appendLog(dev, 4, "new 4")
	appendLog(other, 4, "other 4")
	appendLog(dev, 5, `new "5" with a`+"\n"+`newline`)
	for _, st := range []*sse{s, live} {
		if ev := st.next(t); ev.Line != "new 4" {
			t.Fatalf("live: %+v", ev)
		}
		if ev := st.next(t); ev.Line != "new \"5\" with a\nnewline" {
			t.Fatalf("live: %+v", ev)
		}
		st.none(t)
	}

	// Resume after a sequence number, by parameter and by Last-Event-ID.
	r := e.stream(fmt.Sprintf("/v1/Devices/%s/Logs/Stream?After=%d", dev, got[1].Seq), nil)
	if ev := r.next(t); ev.Line != "old 3" {
		t.Fatalf("After: %+v", ev)
	}
	r = e.stream("/v1/Devices/"+dev+"/Logs/Stream?Since=2000-01-01T00:00:00Z", http.Header{"Last-Event-ID": {got[2].id}})
	if ev := r.next(t); ev.Line != "new 4" {
		t.Fatalf("Last-Event-ID: %+v", ev)
	}

	// Bad requests.
	e.wantErr(e.do("GET", "/v1/Devices/"+devID(9)+"/Logs/Stream", nil), 404, "DeviceSid", "no such device")
	e.wantErr(e.do("GET", "/v1/Devices/"+dev+"/Logs/Stream?Since=yesterday", nil), 400, "Since", "RFC 3339")
	e.wantErr(e.do("GET", "/v1/Devices/"+dev+"/Logs/Stream?After=-1", nil), 400, "After", "sequence number")
	e.wantErr(e.do("GET", "/v1/Devices/"+dev+"/Logs/Stream?After=1&Since=2000-01-01T00:00:00Z", nil), 400, "After", "cannot be combined")
	e.wantErr(e.do("GET", "/v1/Devices/"+dev+"/Logs/Stream?Tail=1", nil), 400, "Tail", "is not a parameter")
}

func TestLogStreamEndsWithClient(t *testing.T) {
	e := newEnv(t)
	dev := e.register(1)
	before := e.streams()
	s := e.stream("/v1/Devices/"+dev+"/Logs/Stream", nil)
	if n := e.streams(); n != before+1 {
		t.Fatalf("%d requests in flight with the stream open, want %d", n, before+1)
	}
	s.res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for e.streams() > before {
		if time.Now().After(deadline) {
			t.Fatal("the stream's store consumer outlived the client")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streams counts the requests the handler is serving.
func (e *env) streams() int64 { return e.inflight.Load() }
