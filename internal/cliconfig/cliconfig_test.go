package cliconfig

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestPathFollowsXDG(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	p, err := Path()
	if err != nil || p != filepath.Join(dir, "mvnet", "cloud.json") {
		t.Fatalf("Path() = %q, %v", p, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", dir)
	p, err = Path()
	if err != nil || p != filepath.Join(dir, ".config", "mvnet", "cloud.json") {
		t.Fatalf("Path() without XDG_CONFIG_HOME = %q, %v", p, err)
	}
}

func TestSaveLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "cloud.json")
	c := Credentials{URL: "http://127.0.0.1:8080", AccountSid: "AC1", AuthToken: "tok"}
	if err := Save(p, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	for _, want := range []string{`"url"`, `"account_sid"`, `"auth_token"`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("file lacks %s:\n%s", want, b)
		}
	}
	got, err := Load(p)
	if err != nil || got != c {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	os.WriteFile(p, []byte("{not json"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("Load of a bad file: %v", err)
	}
}

func TestResolveOrder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cloud.json")
	if err := Save(p, Credentials{URL: "http://file", AccountSid: "ACfile", AuthToken: "tfile"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	r, err := Resolve(Credentials{}, getenv, p)
	if err != nil || r.URL != "http://file" || r.AuthTokenFrom != FromFile {
		t.Fatalf("file only: %+v, %v", r, err)
	}
	env[EnvURL], env[EnvAccountSid], env[EnvAuthToken] = "http://env", "ACenv", "tenv"
	r, err = Resolve(Credentials{}, getenv, p)
	if err != nil || r.Credentials != (Credentials{"http://env", "ACenv", "tenv"}) || r.URLFrom != FromEnv {
		t.Fatalf("env over file: %+v, %v", r, err)
	}
	r, err = Resolve(Credentials{URL: "http://flag", AuthToken: "tflag"}, getenv, p)
	if err != nil || r.Credentials != (Credentials{"http://flag", "ACenv", "tflag"}) {
		t.Fatalf("flags over env: %+v, %v", r, err)
	}
	if d := r.Describe(); d != "MVNET_ACCOUNT_SID and --auth-token" {
		t.Fatalf("Describe = %q", d)
	}
	// Each setting on its own: a partial environment is completed by the file.
	delete(env, EnvAuthToken)
	r, err = Resolve(Credentials{}, getenv, p)
	if err != nil || r.AuthToken != "tfile" || r.AccountSid != "ACenv" {
		t.Fatalf("mixed: %+v, %v", r, err)
	}
}

func TestResolveMissingNamesAllThreeWays(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cloud.json")
	_, err := Resolve(Credentials{URL: "http://x"}, func(string) string { return "" }, p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"account SID", "auth token", "--cloud", "--account-sid", "--auth-token",
		EnvURL, EnvAccountSid, EnvAuthToken, p, "does not exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "cloud's URL") {
		t.Errorf("error names the URL, which was given: %v", err)
	}
}
