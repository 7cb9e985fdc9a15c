package sdktest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/cliconfig"
	"github.com/mvnet/mvnet/internal/runner"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// The CLI door against the embedded cloud of `mvnet run --api`: a shell
// script's or CI job's way of applying faults while a C application runs.

// readAPIEnv reads the export lines `mvnet run --api-env` wrote (sh
// syntax, single-quoted values) into NAME=value pairs.
func readAPIEnv(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	line := regexp.MustCompile(`^export ([A-Z_]+)='((?:[^']|'\\'')*)'$`)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("--api-env line %q is not export NAME='value'", l)
		}
		env[m[1]] = strings.ReplaceAll(m[2], `'\''`, "'")
	}
	for _, k := range []string{cliconfig.EnvURL, cliconfig.EnvAccountSid, cliconfig.EnvAuthToken, runner.EnvDevice} {
		if env[k] == "" {
			t.Fatalf("--api-env file lacks %s:\n%s", k, b)
		}
	}
	return env
}

// TestHostedFaultCLI: `mvnet run --api 127.0.0.1:0 --api-env FILE` runs a C
// application that watches its network; once it is connected, the test
// runs `mvnet fault apply "$MVNET_DEVICE" link-drop for=1m`, `fault list`
// and `fault clear` with the file's settings (as a script sourcing it
// would). The application sees its network go and come back and exits 0;
// the
// transcript has the fault's start and end lines; `mvnet fault list`
// shows it while in force.
func TestHostedFaultCLI(t *testing.T) {
	t.Parallel()
	mvnet := mvnetBinary(t)
	bin := compile(t, "netwatch_cli", netWatchApp, static)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "run.env")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, mvnet, "run", "--api", "127.0.0.1:0", "--api-env", envFile, "--", bin)
	// No saved CLI settings or variables from the caller.
	base := append(os.Environ(), "XDG_CONFIG_HOME="+dir, "HOME="+dir)
	run.Env = base
	var stderr syncBuf
	run.Stderr = &stderr
	stdout, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	// The CLI with the --api-env file's settings.
	var env map[string]string
	cli := func(args ...string) (string, error) {
		c := exec.CommandContext(ctx, mvnet, args...)
		c.Env = append([]string{}, base...)
		for k, v := range env {
			c.Env = append(c.Env, k+"="+v)
		}
		out, err := c.CombinedOutput()
		return string(out), err
	}
	var (
		lines   []string
		fault   string
		listed  string
		cliErrs []string
	)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		l := sc.Text()
		lines = append(lines, l)
		if l != "net: connected" || fault != "" || len(cliErrs) > 0 {
			continue
		}
		// The file is written before the application starts.
		env = readAPIEnv(t, envFile)
		// for=1m: still in force when the list below asks, however slow
		// the machine; the clear ends it.
		out, err := cli("fault", "apply", env[runner.EnvDevice], "link-drop", "for=1m")
		fault, _, _ = strings.Cut(strings.TrimSpace(out), "  ")
		if err != nil || !strings.HasPrefix(fault, "FT") {
			cliErrs = append(cliErrs, "fault apply: "+fmt.Sprint(err)+": "+out)
			fault = ""
			continue
		}
		if listed, err = cli("fault", "list", env[runner.EnvDevice]); err != nil {
			cliErrs = append(cliErrs, "fault list: "+err.Error()+": "+listed)
		}
		if out, err := cli("fault", "clear", env[runner.EnvDevice], fault); err != nil {
			cliErrs = append(cliErrs, "fault clear: "+err.Error()+": "+out)
		}
	}
	werr := run.Wait()
	report := func() string {
		return "stdout:\n" + strings.Join(lines, "\n") + "\nstderr (transcript):\n" + stderr.String()
	}
	if len(cliErrs) > 0 {
		t.Fatalf("the CLI failed: %v\n%s", cliErrs, report())
	}
	if fault == "" {
		t.Fatalf("the application never said its network connected\n%s", report())
	}
	if !strings.Contains(listed, fault) || !strings.Contains(listed, "link-drop for=1m0s") {
		t.Errorf("fault list while in force lacks %s:\n%s", fault, listed)
	}
	// The first poll may find the network still CONNECTING.
	saw := lines
	if len(saw) > 0 && saw[0] == "net: not connected" {
		saw = saw[1:]
	}
	want := []string{"net: connected", "net: not connected", "net: connected"}
	if werr != nil || strings.Join(saw, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mvnet run: %v; want the application to see its network go and come back and exit 0\n%s", werr, report())
	}
	tr := stderr.String()
	start := "fault  start  link-drop for=1m0s  (" + fault + ")"
	end := "fault  end  link-drop for=1m0s  (" + fault + ")  cleared"
	if i, j := strings.Index(tr, start), strings.Index(tr, end); i < 0 || j < i {
		t.Fatalf("the transcript lacks %q then %q\n%s", start, end, report())
	}
	// Once the run is over, the file is gone with its cloud.
	poll.Until(t, "the --api-env file removed", func() bool {
		_, err := os.Stat(envFile)
		return os.IsNotExist(err)
	})
}
