package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/nats-io/nats-server/v2/server"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func devID(n int) string { return fmt.Sprintf("UV%032x", n) }

func open(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func fetch(t *testing.T, s *Store, dev string, sc abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Fetch(context.Background(), dev, sc, st, key)
	if err != nil {
		t.Fatalf("Fetch(%s, %v, %v, %q): %v", dev, sc, st, key, err)
	}
	return string(v), ok
}

func TestSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := devID(1)
	s := open(t, Options{DataDir: dir})
	must[Device](t)(s.RegisterDevice(ctx, a))
	name, off := "kitchen", false
	must[Device](t)(s.UpdateDevice(ctx, a, &name, &off))
	must[Config](t)(s.PutConfig(ctx, AccountScope, "broker", []byte("mqtt.example.com"), Upsert))
	must[Config](t)(s.PutConfig(ctx, DeviceScope(a), "room", []byte("kitchen"), Upsert))
	must[SecretInfo](t)(s.PutSecret(ctx, AccountScope, "api key", []byte("acct-secret"), Upsert))
	must[SecretInfo](t)(s.PutSecret(ctx, DeviceScope(a), "token", []byte("dev-secret"), Upsert))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := uint64(1); i <= 3; i++ {
		if err := s.AppendLog(ctx, a, i, t0.Add(time.Duration(i)*time.Second), []byte(fmt.Sprint("line ", i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s = open(t, Options{DataDir: dir})
	d := must[Device](t)(s.GetDevice(ctx, "kitchen"))
	if d.Sid != a || d.LoggingEnabled || d.UniqueName != "kitchen" {
		t.Errorf("device after restart: %+v", d)
	}
	if on, err := s.LoggingEnabled(ctx, a); err != nil || on {
		t.Errorf("LoggingEnabled = %v, %v; want false", on, err)
	}
	for _, c := range []struct {
		sc     abi.ConfigKeyFetchScope
		st     abi.ConfigKeyFetchStore
		key, v string
	}{
		{abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreConfig, "broker", "mqtt.example.com"},
		{abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreConfig, "room", "kitchen"},
		{abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreSecret, "api key", "acct-secret"},
		{abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreSecret, "token", "dev-secret"},
	} {
		if v, ok := fetch(t, s, a, c.sc, c.st, c.key); !ok || v != c.v {
			t.Errorf("Fetch %v %v %q = %q, %v; want %q", c.sc, c.st, c.key, v, ok, c.v)
		}
	}
	lines := must[[]LogLine](t)(s.ReadLogs(ctx, a, LogFrom{}, 0))
	if len(lines) != 3 || string(lines[2].Line) != "line 3" || lines[2].Seq != 3 || !lines[2].At.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("logs after restart: %+v", lines)
	}
}

func TestSecretKeyFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Options{DataDir: dir})
	s.Close()
	fi, err := os.Stat(filepath.Join(dir, SecretKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != SecretKeyLen {
		t.Errorf("secret.key: mode %v size %d", fi.Mode().Perm(), fi.Size())
	}
	// Another key cannot open the data.
	_, err = Open(context.Background(), Options{DataDir: dir, SecretKey: bytes.Repeat([]byte{7}, 32), Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("Open with another key: %v", err)
	}
	if _, err := Open(context.Background(), Options{DataDir: dir, SecretKey: []byte("short"), Logger: quiet}); err == nil {
		t.Error("Open with a 5-byte key succeeded")
	}
}

// TestSecretsNotOnDiskInClear greps every file under the data directory for
// the secret values (raw and base64), and finds a config value as a control.
func TestSecretsNotOnDiskInClear(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, Options{DataDir: dir})
	a := devID(2)
	must[Device](t)(s.RegisterDevice(ctx, a))
	secrets := []string{"plaintext-secret-ACCOUNT-7f3a", "plaintext-secret-DEVICE-9c1e"}
	must[SecretInfo](t)(s.PutSecret(ctx, AccountScope, "s1", []byte(secrets[0]), Upsert))
	must[SecretInfo](t)(s.PutSecret(ctx, DeviceScope(a), "s2", []byte(secrets[1]), Upsert))
	control := "plaintext-config-CONTROL-55aa"
	must[Config](t)(s.PutConfig(ctx, AccountScope, "c", []byte(control), Upsert))
	s.Close()

	var all [][]byte
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			all = append(all, b)
		}
		return nil
	})
	contains := func(needle string) bool {
		for _, b := range all {
			if bytes.Contains(b, []byte(needle)) {
				return true
			}
		}
		return false
	}
	if !contains(base64.StdEncoding.EncodeToString([]byte(control))) {
		t.Fatal("control: config value not found on disk; the grep sees nothing")
	}
	for _, sec := range secrets {
		if contains(sec) || contains(base64.StdEncoding.EncodeToString([]byte(sec))) {
			t.Errorf("secret %q readable on disk", sec)
		}
	}
}

func TestLogDuplicates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := devID(3), devID(4)
	opts := Options{DataDir: dir, dupWindow: 100 * time.Millisecond}
	s := open(t, opts)
	now := time.Now()
	for _, seq := range []uint64{1, 2, 2, 3, 1} {
		if err := s.AppendLog(ctx, a, seq, now, []byte(fmt.Sprint("a", seq))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendLog(ctx, b, 2, now, []byte("b2")); err != nil { // same seq, another device
		t.Fatal(err)
	}
	count := func(s *Store, dev string) []string {
		t.Helper()
		var out []string
		for _, l := range must[[]LogLine](t)(s.ReadLogs(ctx, dev, LogFrom{}, 100)) {
			out = append(out, string(l.Line))
		}
		return out
	}
	if got := count(s, a); strings.Join(got, ",") != "a1,a2,a3" {
		t.Fatalf("device a lines: %v", got)
	}
	s.Close()

	// After a restart the in-memory marks are gone; the stream's duplicate
	// window (100ms here) has passed too, so only the high-water mark read
	// back from the stream stops these.
	time.Sleep(150 * time.Millisecond) // let the window pass (deliberate)
	s = open(t, opts)
	for _, seq := range []uint64{3, 2, 4} {
		if err := s.AppendLog(ctx, a, seq, now, []byte(fmt.Sprint("a", seq))); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(s, a); strings.Join(got, ",") != "a1,a2,a3,a4" {
		t.Fatalf("device a lines after restart: %v", got)
	}
	if got := count(s, b); strings.Join(got, ",") != "b2" {
		t.Fatalf("device b lines: %v", got)
	}

	// A reboot starts at a random seq, below the last one as often as not;
	// numbering wraps past 2^64-1. Neither loses lines; resends after them
	// are still dropped.
	c := devID(14)
	const max = ^uint64(0)
	for _, seq := range []uint64{7, 8, 1 << 40, 1<<40 + 1, 1 << 40, max - 1, max, 0, 1, max, 0, 1} {
		if err := s.AppendLog(ctx, c, seq, now, []byte(fmt.Sprint(seq))); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(count(s, c), ","); got != fmt.Sprintf("7,8,%d,%d,%d,%d,0,1", uint64(1<<40), uint64(1<<40+1), max-1, max) {
		t.Fatalf("reboot and wrap: %s", got)
	}

	// Two writers on one device (a reconnect racing the old session): each
	// seq still lands once.
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint64(5); seq <= 20; seq++ {
				if err := s.AppendLog(ctx, a, seq, now, []byte(fmt.Sprint("a", seq))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := count(s, a); len(got) != 20 || got[19] != "a20" {
		t.Fatalf("after concurrent writers: %v", got)
	}
}

func TestScopeIsolation(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	a, b := devID(5), devID(6)
	must[Device](t)(s.RegisterDevice(ctx, a))
	must[Device](t)(s.RegisterDevice(ctx, b))
	must[Config](t)(s.PutConfig(ctx, AccountScope, "k", []byte("account"), Upsert))
	must[Config](t)(s.PutConfig(ctx, DeviceScope(a), "k", []byte("device a"), Upsert))
	must[SecretInfo](t)(s.PutSecret(ctx, DeviceScope(a), "s", []byte("a's secret"), Upsert))

	C, S := abi.ConfigKeyFetchStoreConfig, abi.ConfigKeyFetchStoreSecret
	acct, dev := abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchScopeDevice
	if v, ok := fetch(t, s, a, dev, C, "k"); !ok || v != "device a" {
		t.Errorf("a device k = %q %v", v, ok)
	}
	if v, ok := fetch(t, s, a, acct, C, "k"); !ok || v != "account" {
		t.Errorf("a account k = %q %v", v, ok)
	}
	if v, ok := fetch(t, s, b, dev, C, "k"); ok {
		t.Errorf("b read a's device config: %q", v)
	}
	if v, ok := fetch(t, s, b, dev, S, "s"); ok {
		t.Errorf("b read a's device secret: %q", v)
	}
	if _, ok := fetch(t, s, a, dev, C, "s"); ok {
		t.Error("secret visible in the config store")
	}
	if _, ok := fetch(t, s, a, acct, S, "s"); ok {
		t.Error("device secret visible in account scope")
	}
	if _, ok := fetch(t, s, a, dev, C, strings.Repeat("x", 101)); ok {
		t.Error("overlong key found")
	}
	// A sealed value copied under b's key does not open: the associated data
	// binds it to a's place.
	e, err := s.deviceSecrets.Get(ctx, a+"."+encodeKey("s"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.deviceSecrets.Put(ctx, b+"."+encodeKey("s"), e.Value()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Fetch(ctx, b, dev, S, "s"); err == nil {
		t.Error("a sealed value moved to another device opened")
	}
	// The API sees secrets' metadata only.
	l := must[List[SecretInfo]](t)(s.ListSecrets(ctx, DeviceScope(a), Page{}))
	if len(l.Items) != 1 || l.Items[0].Key != "s" || l.Items[0].DateRotated.IsZero() {
		t.Errorf("ListSecrets: %+v", l)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	a, b := devID(7), devID(8)
	must[Device](t)(s.RegisterDevice(ctx, a))
	must[Device](t)(s.RegisterDevice(ctx, b))
	check := func(err error, class error, field, rule string) {
		t.Helper()
		var fe *FieldError
		if !errors.As(err, &fe) || !errors.Is(err, class) || fe.Field != field || !strings.Contains(fe.Rule, rule) {
			t.Errorf("err = %v; want %v on %s mentioning %q", err, class, field, rule)
		}
	}
	_, err := s.PutConfig(ctx, AccountScope, strings.Repeat("k", 101), []byte("v"), Upsert)
	check(err, ErrInvalid, "Key", "1 to 100 characters")
	_, err = s.PutConfig(ctx, AccountScope, "", []byte("v"), Upsert)
	check(err, ErrInvalid, "Key", "1 to 100")
	_, err = s.PutSecret(ctx, AccountScope, "tab\there", []byte("v"), Upsert)
	check(err, ErrInvalid, "Key", "printable ASCII")
	_, err = s.PutConfig(ctx, AccountScope, "é", []byte("v"), Upsert)
	check(err, ErrInvalid, "Key", "printable ASCII")
	_, err = s.PutConfig(ctx, AccountScope, "k", make([]byte, 4097), Upsert)
	check(err, ErrInvalid, "Value", "at most 4096 bytes")
	must[Config](t)(s.PutConfig(ctx, AccountScope, strings.Repeat("~", 100), make([]byte, 4096), Upsert))
	_, err = s.PutConfig(ctx, DeviceScope(devID(99)), "k", []byte("v"), Upsert)
	check(err, ErrNotFound, "DeviceSid", "no such device")
	_, err = s.PutConfig(ctx, DeviceScope("UVnope"), "k", []byte("v"), Upsert)
	check(err, ErrInvalid, "DeviceSid", "UV followed by 32 hex")
	must[Config](t)(s.PutConfig(ctx, AccountScope, "once", []byte("1"), CreateOnly))
	_, err = s.PutConfig(ctx, AccountScope, "once", []byte("2"), CreateOnly)
	check(err, ErrConflict, "Key", "already exists")
	_, err = s.PutSecret(ctx, AccountScope, "missing", []byte("2"), UpdateOnly)
	check(err, ErrNotFound, "Key", "no such key")
	check(s.DeleteConfig(ctx, AccountScope, "missing"), ErrNotFound, "Key", "no such key")
	_, err = s.GetConfig(ctx, AccountScope, "missing")
	check(err, ErrNotFound, "Key", "no such key")
	_, err = s.ListConfigs(ctx, AccountScope, Page{Size: 1001})
	check(err, ErrInvalid, "PageSize", "1 to 1000")
	_, err = s.ListDevices(ctx, Page{Token: "!!"})
	check(err, ErrInvalid, "PageToken", "not a token")

	// Unique names: a taken name is refused and neither device changes.
	n1, n2 := "front-door", "back-door"
	on := false
	must[Device](t)(s.UpdateDevice(ctx, a, &n1, nil))
	must[Device](t)(s.UpdateDevice(ctx, b, &n2, nil))
	_, err = s.UpdateDevice(ctx, b, &n1, &on)
	check(err, ErrConflict, "UniqueName", "must be unique")
	if d := must[Device](t)(s.GetDevice(ctx, b)); d.UniqueName != n2 || !d.LoggingEnabled {
		t.Errorf("b changed by a refused update: %+v", d)
	}
	if d := must[Device](t)(s.GetDevice(ctx, n1)); d.Sid != a {
		t.Errorf("front-door is %+v", d)
	}
	sidLike := devID(1234)
	_, err = s.UpdateDevice(ctx, b, &sidLike, nil)
	check(err, ErrInvalid, "UniqueName", "look like a device SID")
	// Renaming frees the old name; clearing frees the new one.
	n3, empty := "side-door", ""
	must[Device](t)(s.UpdateDevice(ctx, a, &n3, nil))
	must[Device](t)(s.UpdateDevice(ctx, b, &n1, nil))
	must[Device](t)(s.UpdateDevice(ctx, a, &empty, nil))
	_, err = s.GetDevice(ctx, n3)
	check(err, ErrNotFound, "DeviceSid", "no device")
	// Registering again changes nothing.
	if d := must[Device](t)(s.RegisterDevice(ctx, b)); d.UniqueName != n1 {
		t.Errorf("re-register: %+v", d)
	}
	_, err = s.RegisterDevice(ctx, "UV123")
	check(err, ErrInvalid, "DeviceSid", "32 hex")

	// A reservation left by a crash between its steps: GetDevice ignores
	// it; a claim gets ErrConflict while it is young and takes it over once
	// it is stale.
	orphan := "orphan"
	if _, err := s.names.Create(ctx, encodeKey(orphan), []byte(a)); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetDevice(ctx, orphan)
	check(err, ErrNotFound, "DeviceSid", "no device")
	_, err = s.UpdateDevice(ctx, b, &orphan, nil)
	check(err, ErrConflict, "UniqueName", "being claimed")
	defer func(d time.Duration) { staleReservation = d }(staleReservation)
	staleReservation = 0
	if d := must[Device](t)(s.UpdateDevice(ctx, b, &orphan, nil)); d.UniqueName != orphan {
		t.Errorf("take-over: %+v", d)
	}
	if d := must[Device](t)(s.GetDevice(ctx, orphan)); d.Sid != b {
		t.Errorf("orphan is %+v", d)
	}
	staleReservation = time.Minute

	// Two devices racing for one name: exactly one wins.
	c, d := devID(9), devID(10)
	must[Device](t)(s.RegisterDevice(ctx, c))
	must[Device](t)(s.RegisterDevice(ctx, d))
	race := "contested"
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, sid := range []string{c, d} {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = s.UpdateDevice(ctx, sid, &race, nil) }()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("racing claims: %v, %v; want exactly one success", errs[0], errs[1])
	}
}

func TestPaging(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	keys := []string{" space", "a/b", "a.b", "a b", "Z", "z~", "~", "0", "a*>"}
	for _, k := range keys {
		must[Config](t)(s.PutConfig(ctx, AccountScope, k, []byte("v:"+k), Upsert))
	}
	var got []string
	var tokens []string
	p := Page{Size: 4}
	for {
		l := must[List[Config]](t)(s.ListConfigs(ctx, AccountScope, p))
		for _, c := range l.Items {
			got = append(got, c.Key)
			if string(c.Value) != "v:"+c.Key {
				t.Errorf("%q = %q", c.Key, c.Value)
			}
		}
		if l.PageSize != 4 || (len(tokens) > 0) != (l.Prev != "") {
			t.Errorf("page %d: size %d prev %q", len(tokens), l.PageSize, l.Prev)
		}
		tokens = append(tokens, l.Prev)
		if l.Next == "" {
			break
		}
		p.Token = l.Next
	}
	want := []string{" space", "0", "Z", "a b", "a*>", "a.b", "a/b", "z~", "~"}
	if strings.Join(got, "|") != strings.Join(want, "|") || len(tokens) != 3 {
		t.Fatalf("pages: %q in %d pages; want %q", got, len(tokens), want)
	}
	// Back from the last page.
	l := must[List[Config]](t)(s.ListConfigs(ctx, AccountScope, Page{Size: 4, Token: tokens[2]}))
	if len(l.Items) != 4 || l.Items[0].Key != "a*>" || l.Prev == "" || l.Next == "" {
		t.Errorf("previous page: %+v", l)
	}
	l = must[List[Config]](t)(s.ListConfigs(ctx, AccountScope, Page{Size: 4, Token: l.Prev}))
	if len(l.Items) != 4 || l.Items[0].Key != " space" || l.Items[3].Key != "a b" || l.Prev != "" || l.Next == "" {
		t.Errorf("first page via prev: %+v", l)
	}
	// Default size, and devices.
	for i := 0; i < 60; i++ {
		must[Device](t)(s.RegisterDevice(ctx, devID(100+i)))
	}
	dl := must[List[Device]](t)(s.ListDevices(ctx, Page{}))
	if len(dl.Items) != 50 || dl.Next == "" || dl.Items[0].Sid != devID(100) {
		t.Fatalf("devices page 1: %d items, next %q", len(dl.Items), dl.Next)
	}
	dl = must[List[Device]](t)(s.ListDevices(ctx, Page{Token: dl.Next}))
	if len(dl.Items) != 10 || dl.Next != "" || dl.Items[9].Sid != devID(159) {
		t.Fatalf("devices page 2: %d items, next %q", len(dl.Items), dl.Next)
	}
	// Device-scoped listings hold only that device's keys.
	a, b := devID(100), devID(101)
	must[Config](t)(s.PutConfig(ctx, DeviceScope(a), "x", nil, Upsert))
	must[Config](t)(s.PutConfig(ctx, DeviceScope(b), "y", nil, Upsert))
	if l := must[List[Config]](t)(s.ListConfigs(ctx, DeviceScope(a), Page{})); len(l.Items) != 1 || l.Items[0].Key != "x" {
		t.Errorf("device a configs: %+v", l.Items)
	}
	if err := s.DeleteConfig(ctx, DeviceScope(a), "x"); err != nil {
		t.Fatal(err)
	}
	if l := must[List[Config]](t)(s.ListConfigs(ctx, DeviceScope(a), Page{})); len(l.Items) != 0 {
		t.Errorf("after delete: %+v", l.Items)
	}
}

func TestLogsReadAndFollow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := open(t, Options{DataDir: t.TempDir()})
	a, b := devID(11), devID(12)
	now := time.Now()
	for i := uint64(1); i <= 5; i++ {
		must[struct{}](t)(struct{}{}, s.AppendLog(ctx, a, i, now, []byte(fmt.Sprint("h", i))))
	}
	must[struct{}](t)(struct{}{}, s.AppendLog(ctx, b, 1, now, []byte("other device")))

	page := must[[]LogLine](t)(s.ReadLogs(ctx, a, LogFrom{}, 2))
	if len(page) != 2 || string(page[1].Line) != "h2" {
		t.Fatalf("first page: %+v", page)
	}
	rest := must[[]LogLine](t)(s.ReadLogs(ctx, a, LogFrom{Seq: page[1].StreamSeq + 1}, 10))
	if len(rest) != 3 || string(rest[0].Line) != "h3" || rest[2].DeviceID != a {
		t.Fatalf("rest: %+v", rest)
	}
	if l := must[[]LogLine](t)(s.ReadLogs(ctx, a, LogFrom{Time: time.Now().Add(time.Hour)}, 10)); len(l) != 0 {
		t.Errorf("from the future: %+v", l)
	}

	fctx, fcancel := context.WithCancel(ctx)
	ch := must[<-chan LogLine](t)(s.FollowLogs(fctx, a, LogFrom{Seq: rest[1].StreamSeq}))
	live := must[<-chan LogLine](t)(s.FollowLogs(fctx, a, LogFrom{New: true}))
	next := func(ch <-chan LogLine) string {
		t.Helper()
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatal("channel closed")
			}
			return string(l.Line)
		case <-ctx.Done():
			t.Fatal("timed out waiting for a line")
		}
		return ""
	}
	if h4, h5 := next(ch), next(ch); h4 != "h4" || h5 != "h5" {
		t.Fatalf("history: %q %q", h4, h5)
	}
	for i := uint64(6); i <= 7; i++ {
		must[struct{}](t)(struct{}{}, s.AppendLog(ctx, a, i, now, []byte(fmt.Sprint("live", i))))
	}
	must[struct{}](t)(struct{}{}, s.AppendLog(ctx, b, 2, now, []byte("not a's")))
	if l6, l7 := next(ch), next(ch); l6 != "live6" || l7 != "live7" {
		t.Fatalf("live: %q %q", l6, l7)
	}
	if l6, l7 := next(live), next(live); l6 != "live6" || l7 != "live7" {
		t.Fatalf("New-only follower: %q %q", l6, l7)
	}
	fcancel()
	for range ch { // closed after cancel
	}
	// Close ends followers too.
	ch2 := must[<-chan LogLine](t)(s.FollowLogs(ctx, a, LogFrom{New: true}))
	s.Close()
	for range ch2 {
	}
}

// TestExternalURL runs the store against a separate nats-server with a
// client port on 127.0.0.1, as several cloud nodes would share one.
func TestExternalURL(t *testing.T) {
	ctx := context.Background()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	if _, err := Open(ctx, Options{URL: srv.ClientURL(), Logger: quiet}); err == nil {
		t.Fatal("URL mode without a SecretKey opened")
	}
	key := bytes.Repeat([]byte{42}, 32)
	n1 := open(t, Options{URL: srv.ClientURL(), SecretKey: key})
	n2 := open(t, Options{URL: srv.ClientURL(), SecretKey: key}) // a second cloud node
	a := devID(13)
	must[Device](t)(n1.RegisterDevice(ctx, a))
	must[SecretInfo](t)(n1.PutSecret(ctx, DeviceScope(a), "tok", []byte("shh"), Upsert))
	if v, ok := fetch(t, n2, a, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreSecret, "tok"); !ok || v != "shh" {
		t.Errorf("node 2 fetch: %q %v", v, ok)
	}
	// Both nodes append the same lines (a device reconnecting to the other
	// node); each lands once.
	for _, n := range []*Store{n1, n2, n1} {
		for seq := uint64(1); seq <= 3; seq++ {
			if err := n.AppendLog(ctx, a, seq, time.Now(), []byte(fmt.Sprint("l", seq))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if l := must[[]LogLine](t)(n2.ReadLogs(ctx, a, LogFrom{}, 10)); len(l) != 3 {
		t.Errorf("lines: %d, want 3", len(l))
	}
}

func TestReadLogsLeavesNoConsumers(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	a := devID(15)
	for i := uint64(1); i <= 3; i++ {
		if err := s.AppendLog(ctx, a, i, time.Now(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if l, err := s.ReadLogs(ctx, a, LogFrom{}, 2); err != nil || len(l) != 2 {
			t.Fatal(l, err)
		}
	}
	// Deleting a consumer completes asynchronously in the server: poll.
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := s.stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Consumers == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d consumers left 5 s after the reads", info.State.Consumers)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
