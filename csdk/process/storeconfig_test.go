package process

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"configs":{"a":"1","b c":"2"},"secrets":{"s":"x"},"device_configs":{"d":""},"device_secrets":{}}`)
	env := map[string]string{EnvConfigFile: good, EnvDataDir: filepath.Join(dir, "data"), EnvServerLog: "off"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Seed == nil || c.Seed.Len() != 4 || c.Seed.Configs["b c"] != "2" || c.Seed.DeviceConfigs["d"] != "" || c.DataDir != env[EnvDataDir] || !c.ServerLogOff {
		t.Fatalf("config %+v, seed %+v", c, c.Seed)
	}
	if c, err := ConfigFromEnv(func(string) string { return "" }); err != nil || c.Seed != nil || c.DataDir != "" || c.ServerLogOff {
		t.Fatalf("defaults: %+v, %v", c, err)
	}

	for name, bad := range map[string]struct{ v, text, want string }{
		"syntax":     {EnvConfigFile, "{\n\"configs\": {\"a\": \"b\",}\n}", "line 2"},
		"number":     {EnvConfigFile, `{"secrets": {"a": 1}}`, "secrets: want a string value"},
		"unknown":    {EnvConfigFile, `{"configs": {}, "extra": 1}`, `unknown field "extra"`},
		"array":      {EnvConfigFile, `[]`, "want a JSON object"},
		"empty":      {EnvConfigFile, ``, "empty"},
		"two values": {EnvConfigFile, `{} {}`, "more than one JSON value"},
		"empty key":  {EnvConfigFile, `{"configs": {"": "v"}}`, `configs: key ""`},
		"non-ASCII":  {EnvConfigFile, `{"device_secrets": {"clé": "v"}}`, `device_secrets: key "clé"`},
		"long key":   {EnvConfigFile, `{"configs": {"` + strings.Repeat("k", 101) + `": "v"}}`, "key"},
		"long value": {EnvConfigFile, `{"configs": {"k": "` + strings.Repeat("v", 4097) + `"}}`, "value"},
		"missing":    {EnvConfigFile, "", "no such file"},
		"data dir":   {EnvDataDir, "", "not a directory"},
		"server log": {EnvServerLog, "", "want off"},
	} {
		v := filepath.Join(dir, "missing.json")
		switch {
		case bad.v == EnvDataDir:
			v = good // a file
		case bad.v == EnvServerLog:
			v = "quiet"
		case bad.text != "":
			v = write(strings.ReplaceAll(name, " ", "_")+".json", bad.text)
		case name == "empty":
			v = write("empty.json", "")
		}
		env := map[string]string{bad.v: v}
		_, err := ConfigFromEnv(func(k string) string { return env[k] })
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != bad.v || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v; want a ConfigError for %s saying %q", name, err, bad.v, bad.want)
		}
	}
}

func TestEchoLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain line":       "[mvServerLog] plain line\n",
		"tab\tok":          "[mvServerLog] tab\tok\n",
		"two\nlines":       "[mvServerLog] \"two\\nlines\"\n",
		"bad \xff utf8":    "[mvServerLog] \"bad \\xff utf8\"\n",
		"":                 "[mvServerLog] \n",
		"bell\a and é ok?": "[mvServerLog] \"bell\\a and é ok?\"\n",
	} {
		if got := string(EchoLine([]byte(in))); got != want {
			t.Errorf("EchoLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRemoveStaleTempStores(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mk := func(name string, age time.Duration) string {
		d := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(d, "jetstream"), 0o700); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stale := mk(tempStorePattern+"1", time.Hour)
	young := mk(tempStorePattern+"2", time.Second)
	held := mk(tempStorePattern+"3", time.Hour)
	other := mk("not-ours", time.Hour)
	f, err := lockDir(held)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := time.Now().Add(-time.Hour)
	_ = os.Chtimes(held, old, old) // the lock file touched it
	removeStaleTempStores(&Process{log: slog.New(slog.DiscardHandler)})
	for d, keep := range map[string]bool{stale: false, young: true, held: true, other: true} {
		if _, err := os.Stat(d); (err == nil) != keep {
			t.Errorf("%s: exists %v, want %v", filepath.Base(d), err == nil, keep)
		}
	}
	if _, err := lockDir(held); err == nil {
		t.Error("a held data directory was locked twice")
	}
}
