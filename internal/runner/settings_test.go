package runner

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestRunBlamesTheSourceOfABadSetting: a bad setting stops the run before
// the application starts, and the error names where the value came from —
// the flag when an option gave it (even over a good environment variable),
// else the variable — once, without the library's prefixes.
func TestRunBlamesTheSourceOfABadSetting(t *testing.T) {
	dir := t.TempDir()
	app, marker := markerApp(t, dir)
	const want = `(want host:port:addr or host:port:addr:port, e.g. api.example.com:443:127.0.0.1:8443)`
	for _, c := range []struct {
		name    string
		env     string // MVNET_RESOLVE in the user's environment
		resolve []string
		log     string
		err     string // "" = the application runs
	}{
		{"bad flag", "", []string{"bad"}, "", `--resolve "bad": no host ` + want},
		{"bad flag over good env", "a.test:443:127.0.0.1", []string{"b.test:443"}, "", `--resolve "b.test:443": no address ` + want},
		{"bad env", "a.test:443", nil, "", `MVNET_RESOLVE in the environment: "a.test:443": no address ` + want},
		{"good flag over bad env", "a.test:443", []string{"a.test:443:127.0.0.1"}, "", ""},
		{"twice", "", []string{"a.test:443:127.0.0.1", "A.test:443:127.0.0.2"}, "", `--resolve "A.test:443:127.0.0.2": a.test:443 is already mapped by an earlier entry`},
		{"bad log", "", nil, "loud", `--log level "loud": want debug`},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(marker)
			t.Setenv("MVNET_RESOLVE", c.env)
			var out bytes.Buffer
			err := Run(context.Background(), Options{App: app, Resolve: c.resolve, Log: c.log, Stdout: &out, Stderr: &out})
			_, statErr := os.Stat(marker)
			ran := statErr == nil
			if c.err == "" {
				if err != nil || !ran {
					t.Fatalf("Run = %v, ran %v", err, ran)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Fatalf("Run = %v\nwant %s…", err, c.err)
			}
			for _, prefix := range []string{"mvnet:", "httpexec:", "MVNET_RESOLVE=", "--resolve --resolve"} {
				if strings.Contains(err.Error(), prefix) {
					t.Errorf("error repeats %q: %v", prefix, err)
				}
			}
			if ran {
				t.Error("the application started although a setting is bad")
			}
		})
	}
}
