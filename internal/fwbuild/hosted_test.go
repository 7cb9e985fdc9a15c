package fwbuild

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/libcache"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// The network programs' logic checked against the kernel without the
// emulator: each is built for the host against libmvnet (BuildHosted) and
// run with the embedded cloud against loopback servers, and must finish
// with mvTestingComplete(0) having logged what it should.

var hostedLib struct {
	once sync.Once
	dir  string
	lock *os.File
	err  error
}

// libmvnet returns a build of libmvnet for the current sources (shared
// with the C SDK's tests through internal/libcache), kept from pruning
// until the process exits.
func libmvnet(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"cc", "make"} {
		tool.Require(t, name)
	}
	hostedLib.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			hostedLib.err = err
			return
		}
		hostedLib.dir, hostedLib.lock, _, hostedLib.err = libcache.Build(filepath.Join(root, "csdk"), nil)
	})
	if hostedLib.err != nil {
		t.Fatal(hostedLib.err)
	}
	return hostedLib.dir
}

// runHosted runs exe with env for at most a minute and returns its exit
// code and everything it wrote.
func runHosted(t *testing.T, exe string, env ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s did not finish within a minute:\n%s", filepath.Base(exe), out.String())
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, out.String()
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestHostedHTTPGet(t *testing.T) {
	t.Parallel()
	lib := libmvnet(t)
	srv := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello from the server")
	}))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := BuildHosted("http_get", lib, Options{Defines: []string{`FW_URL="` + srv.URL("/hello") + `"`}})
	if err != nil {
		t.Fatal(err)
	}
	code, out := runHosted(t, exe, "MVNET_CA_FILE="+ca, "MVNET_RESOLVE="+srv.Resolve, "MVNET_ALLOW=127.0.0.0/8")
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	wantLines(t, out, "request sent: GET "+srv.URL("/hello"), "http_get: HTTP 200, 21 body bytes: hello from the server", "http_get: done")
}

func TestHostedConfigLog(t *testing.T) {
	t.Parallel()
	lib := libmvnet(t)
	seed := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(seed, []byte(`{"configs": {"broker-host": "mqtt.example.com"}, "device_secrets": {"api-key": "s3cr3t"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := BuildHosted("config_log", lib, Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, out := runHosted(t, exe, "MVNET_CONFIG_FILE="+seed)
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	wantLines(t, out, "config_log: config broker-host = mqtt.example.com", "config_log: secret api-key = [masked, 6 bytes]", "config_log: done")
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("the secret's value was printed:\n%s", out)
	}
}

func TestHostedMQTT(t *testing.T) {
	t.Parallel()
	lib := libmvnet(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	exe, err := BuildHosted("mqtt", lib, Options{Defines: []string{`FW_MQTT_HOST="127.0.0.1"`, "FW_MQTT_PORT=" + strconv.Itoa(br.Port)}})
	if err != nil {
		t.Fatal(err)
	}
	code, out := runHosted(t, exe, "MVNET_ALLOW=127.0.0.0/8", "MVNET_MQTT_PLAINTEXT=1")
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	wantLines(t, out, "mqtt: connect: state 0, reason 0", "mqtt: subscribed: state 0, granted QoS 1", "mqtt: published #2: state 0",
		"at QoS 1: hello from firmware", "mqtt: disconnected: state 0", "mqtt: done")
}

func TestBuildHostedRefusesRegisterPrograms(t *testing.T) {
	if _, err := BuildHosted("i2c", t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "no hosted build") {
		t.Errorf("i2c hosted: %v", err)
	}
}
