package sdktest

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// TestExamples builds examples/c/http-get, examples/c/opaque-echo,
// examples/c/mqtt-pubsub and examples/c/mqtt-commands with their Makefiles
// and their CMakeLists.txt, as a user would, and runs them: http-get against
// a local HTTPS server (it must reach a 200), opaque-echo against the
// embedded cloud's echo, mqtt-pubsub against a Mosquitto of its own
// (skipped when Mosquitto is not installed), and mqtt-commands through
// `mvnet run --scenario` with its own scenario (broker-disconnect.yaml: the
// broker session is cut, it subscribes again, and the scenario's "quit"
// ends it), which must pass.
func TestExamples(t *testing.T) {
	t.Parallel()
	needLib(t)
	srv, caFile := helloServer(t)
	env := map[string]string{"MVNET_CA_FILE": caFile, "MVNET_RESOLVE": srv.Resolve, "MVNET_ALLOW": "127.0.0.0/8"}
	examples := []struct {
		name   string
		args   []string
		want   []string
		broker bool // the arguments are followed by a fresh Mosquitto's host and port
		// scenario, if set, is a file of the example's folder: the example
		// runs through mvnet run --scenario, which must exit 0.
		scenario string
	}{
		{"http-get", []string{srv.URL("/hello")}, []string{"network connected", "result 0, HTTP 200", "Content-Type: text/plain", "hello, example"}, false, ""},
		{"opaque-echo", nil, []string{"echo: Hello, Microvisor, from the host!"}, false, ""},
		{"mqtt-pubsub", nil, []string{"network connected", "connected to 127.0.0.1:", "subscribed: request state 0, granted QoS 1",
			"at QoS 0: hello at QoS 0", "at QoS 1: hello at QoS 1", "acknowledged message #", "unsubscribed: request state 0",
			"disconnected: request state 0, code 0", "done: both messages came back"}, true, ""},
		{"mqtt-commands", nil, []string{"subscribed to mvnet/examples/commands", "command: quit"}, true, "broker-disconnect.yaml"},
	}
	for _, ex := range examples {
		src, err := filepath.Abs(filepath.Join("..", "..", "examples", "c", ex.name))
		if err != nil {
			t.Fatal(err)
		}
		builds := exampleBuilds(ex.name)
		for system, build := range builds {
			t.Run(ex.name+"/"+system, func(t *testing.T) {
				t.Parallel()
				args, runEnv := ex.args, env
				if ex.broker {
					br := mosquitto.Start(t, mosquitto.Options{})
					args = append(args[:len(args):len(args)], "127.0.0.1", strconv.Itoa(br.Port))
					// A plain local broker: opt in (docs/mqtt.md).
					runEnv = maps.Clone(env)
					runEnv["MVNET_MQTT_PLAINTEXT"] = "1"
				}
				dir := copyExample(t, src)
				bin := build(t, dir)
				if ex.scenario != "" {
					r := mvnetRun(t, "run", "--allow", "127.0.0.0/8", "--mqtt-plaintext",
						"--scenario", filepath.Join(src, ex.scenario), "--", bin, args[0], args[1])
					if r.code != 0 {
						t.Fatalf("the scenario failed: %v", r)
					}
					for _, w := range ex.want {
						if !strings.Contains(r.stdout, w) {
							t.Errorf("output lacks %q:\n%s", w, r.stdout)
						}
					}
					return
				}
				r := run(t, bin, runEnv, 60*time.Second, args...)
				if r.code != 0 {
					t.Fatalf("%s exited %d\nstdout:\n%s\nstderr:\n%s", ex.name, r.code, r.stdout, r.stderr)
				}
				for _, w := range ex.want {
					if !strings.Contains(r.stdout, w) {
						t.Errorf("output lacks %q:\n%s", w, r.stdout)
					}
				}
			})
		}
	}
}

// exampleBuilds are the two ways a user builds the example name in a copy
// of its folder: its Makefile and its CMakeLists.txt, against the test's
// libmvnet. Each returns the program's path.
func exampleBuilds(name string) map[string]func(t *testing.T, dir string) string {
	return map[string]func(t *testing.T, dir string) string{
		"make": func(t *testing.T, dir string) string {
			out, err := exec.Command("make", "-C", dir, "MVNET_BUILD="+lib.dir).CombinedOutput()
			if err != nil {
				t.Fatalf("make: %v\n%s", err, out)
			}
			return filepath.Join(dir, name)
		},
		"cmake": func(t *testing.T, dir string) string {
			tool.Require(t, "cmake")
			bld := filepath.Join(dir, "build")
			for _, args := range [][]string{
				{"-S", dir, "-B", bld, "-Dmvnet_DIR=" + filepath.Join(lib.dir, "cmake", "mvnet")},
				{"--build", bld},
			} {
				if out, err := exec.Command("cmake", args...).CombinedOutput(); err != nil {
					t.Fatalf("cmake %v: %v\n%s", args, err, out)
				}
			}
			return filepath.Join(bld, name)
		},
	}
}

// copyExample copies an example's sources and build files from src into a
// temporary folder, as a user's own project would hold them.
func copyExample(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"main.c", "Makefile", "CMakeLists.txt"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
