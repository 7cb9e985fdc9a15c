package runner

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/csdk/process"
)

// flagOf names the `mvnet run` flag that sets each of the library's
// variables.
var flagOf = map[string]string{
	process.EnvDeviceID:     "--device-id",
	process.EnvCAFile:       "--ca-file",
	process.EnvResolve:      "--resolve",
	process.EnvAllow:        "--allow",
	process.EnvLog:          "--log",
	process.EnvBundle:       "--bundle",
	process.EnvUpdateSignal: "--update-after",
	process.EnvBoard:        "--board",
	// cloud's MQTT TLS opt-out (docs/mqtt.md)
	process.EnvMQTTPlaintext: "--mqtt-plaintext",
}

// checkSettings runs the library's own check of its environment
// (process.ConfigFromEnv) on env, the application's environment, before
// the application starts. A bad value is blamed on the flag that gave it
// when fromOption says an option set the variable, else on the variable
// the user's environment holds; either way once, without the library's
// prefixes.
func checkSettings(env []string, fromOption map[string]bool) error {
	vals := envMap(env)
	_, err := process.ConfigFromEnv(func(k string) string { return vals[k] })
	var ce *process.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	reason := ce.Err.Error()
	var re *httpexec.ResolveError
	if errors.As(ce.Err, &re) {
		reason = fmt.Sprintf("%q: %s", re.Entry, re.Reason)
	} else if ce.Var != process.EnvCAFile && !strings.Contains(reason, strconv.Quote(ce.Value)) {
		// (MVNET_CA_FILE holds the runner's bundle of the --ca-file files.)
		reason = fmt.Sprintf("%q: %s", ce.Value, reason)
	}
	if flag, ok := flagOf[ce.Var]; ok && fromOption[ce.Var] {
		return fmt.Errorf("%s %s", flag, reason)
	}
	return fmt.Errorf("%s in the environment: %s", ce.Var, reason)
}

// traceMax is the size cap of the trace file mvnet run keeps (--trace):
// MVNET_TRACE_MAX of env, the application's environment, which
// checkSettings has checked.
func traceMax(env []string) int64 {
	vals := envMap(env)
	cfg, err := process.ConfigFromEnv(func(k string) string { return vals[k] })
	if err != nil {
		return process.DefaultTraceMax
	}
	return cfg.TraceMax
}

// envMap is env's variables by name: the last one wins, as in exec.
func envMap(env []string) map[string]string {
	vals := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vals[k] = v
	}
	return vals
}
