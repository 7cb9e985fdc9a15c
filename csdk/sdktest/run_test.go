package sdktest

import (
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// TestHTTPFlow runs the whole HTTP flow from C against a local HTTPS
// server, configured only through the environment.
func TestHTTPFlow(t *testing.T) {
	t.Parallel()
	srv := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Accept-Seen", r.Header.Get("Accept"))
		_, _ = io.WriteString(w, "hello from "+r.URL.Path)
	}))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"MVNET_CA_FILE": caFile,
		"MVNET_RESOLVE": srv.Resolve,
		"MVNET_ALLOW":   "127.0.0.0/8",
	}
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "http_get", l)
			r := run(t, bin, env, 60*time.Second, srv.URL("/v1/status"))
			if r.code != 0 {
				t.Fatalf("http_get: %v", r)
			}
			for _, want := range []string{"result=0 status=200", "header: Content-Type: text/plain", "header: X-Accept-Seen: text/plain", "body: hello from /v1/status"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			var sent, readable bool
			for _, l := range r.lines("syscall") {
				if l["call"] == "mvSendHttpRequest" {
					d, _ := l["detail"].(map[string]any)
					sent = d["url"] == srv.URL("/v1/status") && d["method"] == "GET"
				}
			}
			for _, l := range r.lines("notification") {
				readable = readable || l["event"] == "MV_EVENTTYPE_CHANNELDATAREADABLE"
			}
			if !sent || !readable {
				t.Errorf("trace lacks the request (%v) or the readable notification (%v)", sent, readable)
			}
		})
	}
	t.Run("refused without MVNET_ALLOW", func(t *testing.T) {
		bin := compileFile(t, "http_get", static)
		r := run(t, bin, map[string]string{"MVNET_CA_FILE": caFile, "MVNET_RESOLVE": srv.Resolve}, 60*time.Second, srv.URL("/"))
		if r.code == 0 || !strings.Contains(r.stdout, "result=5") { // MV_HTTPRESULT_REQUESTFAILED
			t.Fatalf("a loopback server was reached without MVNET_ALLOW: %v", r)
		}
	})
}

func TestTestingCompleteExitStatus(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "exit_status", static)
	for status, code := range map[string]int{"0": 0, "3": 3, "255": 255, "256": 255, "4294967295": 255} {
		r := run(t, bin, nil, 60*time.Second, status)
		if r.code != code || r.stdout != "before exit" {
			t.Errorf("mvTestingComplete(%s): %v; want exit %d and the buffered output", status, r, code)
		}
		if ex := r.lines("exit"); len(ex) != 1 || ex[0]["status"] != float64(code) {
			t.Errorf("mvTestingComplete(%s): trace exit lines %v", status, ex)
		}
		if len(r.trace) != 3 || r.trace[0]["kind"] != "start" || r.trace[1]["call"] != "mvTestingComplete" {
			t.Errorf("mvTestingComplete(%s): want start, syscall and exit lines: %v", status, r.trace)
		}
	}
}

func TestRestart(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "restart", static)
	for _, arg := range []string{"arg1", "reset"} {
		r := run(t, bin, nil, 60*time.Second, arg)
		if r.code != 0 {
			t.Fatalf("restart %s: %v", arg, r)
		}
		m := regexp.MustCompile(`run=(\d) id=(UV[0-9a-f]{32}) args=2 `+arg+` wake=(\d+)`).FindAllStringSubmatch(r.stdout, -1)
		if len(m) != 2 || m[0][1] != "0" || m[1][1] != "1" || m[0][2] != m[1][2] {
			t.Fatalf("restart %s: want two runs with the same device ID and arguments: %v", arg, r)
		}
		// mvGetWakeReason: COLDBOOT (0), then REMOTEAPPLICATIONRESTART (2).
		if m[0][3] != "0" || m[1][3] != "2" {
			t.Errorf("restart %s: wake reasons %s then %s, want 0 (COLDBOOT) then 2 (REMOTEAPPLICATIONRESTART)", arg, m[0][3], m[1][3])
		}
		if s := r.lines("start"); len(s) != 2 || s[1]["restarts"] != float64(1) {
			t.Errorf("restart %s: the trace should hold both runs' start lines: %v", arg, s)
		}
		if len(r.lines("restart")) != 1 {
			t.Errorf("restart %s: no restart line in the trace", arg)
		}
	}
}

func TestBadEnvironment(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "minimal", static)
	for name, value := range map[string]string{
		"MVNET_ALLOW":     "10.0.0.0/33",
		"MVNET_DEVICE_ID": "UV1",
		"MVNET_RESOLVE":   "api.test",
		"MVNET_CA_FILE":   "/nonexistent/ca.pem",
		"MVNET_LOG":       "loud",
		"MVNET_TRACE":     "/nonexistent/dir/trace",
	} {
		r := run(t, bin, map[string]string{name: value}, 60*time.Second)
		if r.code != 2 || !strings.Contains(r.stderr, name) || r.stdout != "" {
			t.Errorf("%s=%s: %v; want exit 2 and a message naming the variable", name, value, r)
		}
	}
	r := run(t, bin, map[string]string{"MVNET_DEVICE_ID": "UV0123456789abcdef0123456789ABCDEF", "MVNET_LOG": "off"}, 60*time.Second)
	if r.code != 0 {
		t.Fatalf("good environment: %v", r)
	}
}

// TestPkgConfig builds with the flags mvnet.pc and mvnet-static.pc give.
func TestPkgConfig(t *testing.T) {
	t.Parallel()
	needLib(t)
	tool.Require(t, "pkg-config")
	for _, pc := range []string{"mvnet", "mvnet-static"} {
		cmd := exec.Command("pkg-config", "--cflags", "--libs", pc)
		cmd.Env = append(os.Environ(), "PKG_CONFIG_PATH="+lib.dir)
		flags, err := cmd.Output()
		if err != nil {
			t.Fatalf("pkg-config %s: %v", pc, err)
		}
		bin := filepath.Join(t.TempDir(), "minimal")
		args := append([]string{filepath.Join("testdata", "minimal.c"), "-o", bin}, strings.Fields(string(flags))...)
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			t.Fatalf("cc %v: %v\n%s", args, err, out)
		}
		if r := run(t, bin, nil, 60*time.Second); r.code != 0 {
			t.Fatalf("%s: %v", pc, r)
		}
	}
}

// TestCMakePackage builds a project with find_package(mvnet) for both
// targets. It needs cmake (installed by .ci/run).
func TestCMakePackage(t *testing.T) {
	t.Parallel()
	needLib(t)
	tool.Require(t, "cmake")
	src := t.TempDir()
	minimal, err := os.ReadFile(filepath.Join("testdata", "minimal.c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "minimal.c"), minimal, 0o644); err != nil {
		t.Fatal(err)
	}
	lists := `cmake_minimum_required(VERSION 3.16)
project(minimal C)
find_package(mvnet 0.1 REQUIRED)
add_executable(app_shared minimal.c)
target_link_libraries(app_shared mvnet::mvnet)
add_executable(app_static minimal.c)
target_link_libraries(app_static mvnet::mvnet_static)
`
	if err := os.WriteFile(filepath.Join(src, "CMakeLists.txt"), []byte(lists), 0o644); err != nil {
		t.Fatal(err)
	}
	bld := filepath.Join(src, "build")
	for _, args := range [][]string{
		{"-S", src, "-B", bld, "-Dmvnet_DIR=" + filepath.Join(lib.dir, "cmake", "mvnet")},
		{"--build", bld},
	} {
		if out, err := exec.Command("cmake", args...).CombinedOutput(); err != nil {
			t.Fatalf("cmake %v: %v\n%s", args, err, out)
		}
	}
	for _, app := range []string{"app_shared", "app_static"} {
		if r := run(t, filepath.Join(bld, app), nil, 30*time.Second); r.code != 0 {
			t.Fatalf("%s: %v", app, r)
		}
	}
}

// TestSystemNotifications: mvOpenSystemNotification delivers network events
// (the link going down when the network is released) and update events
// (with MVNET_UPDATE_SIGNAL=1, SIGUSR1 makes the embedded cloud announce a
// downloaded update).
func TestSystemNotifications(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "system_notify", l)
			r := run(t, bin, map[string]string{"MVNET_UPDATE_SIGNAL": "1"}, 60*time.Second)
			if r.code != 0 {
				t.Fatalf("system_notify: %v", r)
			}
			var upd bool
			for _, n := range r.lines("notification") {
				upd = upd || n["event"] == "MV_EVENTTYPE_UPDATEDOWNLOADED"
			}
			if !upd {
				t.Error("trace lacks the UPDATEDOWNLOADED notification")
			}
		})
	}
}
