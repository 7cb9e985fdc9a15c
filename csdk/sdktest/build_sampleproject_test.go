package sdktest

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// TestSampleProject builds examples/project — mvnet's own sample, laid out
// like the public Microvisor samples, CMake files unchanged — with mvnet
// build, and runs it with its board file (an MCP9808 reading 21.5 °C on
// I2C1) against a local HTTPS server: it must read the sensor, post
// {"temperature_c":21.50} to API_URL and log "posted 21.50 C to URL: HTTP
// 200" on its UART (stdout). The application runs on (it blinks its LED);
// the test stops it once the line is there.
func TestSampleProject(t *testing.T) {
	t.Parallel()
	needLib(t)
	tool.Require(t, "cmake")
	var mu sync.Mutex
	var bodies []string
	srv, env := localHTTPS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "project"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyTree(t, src, dir)
	url := srv.URL("/readings")
	exes, progress := mvnetBuild(t, dir, "-DAPI_URL="+url)
	if len(exes) != 1 {
		t.Fatalf("mvnet build printed %q, want one executable\n%s", exes, progress)
	}
	env["MVNET_BOARD"] = filepath.Join(dir, "board.json")
	seen, stderr := runUntil(t, exes[0], env, "posted ", 2*time.Minute)
	want := "posted 21.50 C to " + url + ": HTTP 200"
	if len(seen) == 0 || !strings.Contains(seen[len(seen)-1], want) {
		t.Fatalf("the sample never logged %q (deadline or exit)\nstdout:\n%s\nstderr:\n%s",
			want, strings.Join(seen, "\n"), stderr)
	}
	for _, w := range []string{"temperature 21.50 C", "network connected"} {
		if !strings.Contains(strings.Join(seen, "\n"), w) {
			t.Errorf("the sample's log lacks %q:\n%s", w, strings.Join(seen, "\n"))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || bodies[0] != `POST /readings {"temperature_c":21.50}` {
		t.Errorf("the server got %q, want one POST /readings {\"temperature_c\":21.50}", bodies)
	}
}
