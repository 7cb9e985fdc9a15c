//go:build linux

package process

import (
	"errors"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// restartedEnv calls mvRestart(AUTOAPPLYUPDATE) on p and returns the
// environment the re-executed application would get, as a map.
func restartedEnv(t *testing.T, p *Process) map[string]string {
	t.Helper()
	var env []string
	func() {
		defer func() {
			var ok bool
			if env, ok = recover().([]string); !ok {
				t.Fatal("mvRestart did not re-execute")
			}
		}()
		call(t, p, "mvRestart", uint64(abi.RestartModeAutoApplyUpdate))
	}()
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// wakeReason is what mvGetWakeReason reports to p's application.
func wakeReason(t *testing.T, p *Process) abi.WakeReason {
	t.Helper()
	out, b := newHostMem(t).alloc(4)
	b[0] = 0xaa
	if st := call(t, p, "mvGetWakeReason", out); st != abi.StatusOkay {
		t.Fatalf("mvGetWakeReason = %v", st)
	}
	return abi.WakeReason(b[0])
}

// mvGetWakeReason after mvRestart is not COLDBOOT: the reason crosses the
// exec in MVNET_WAKE_REASON, and a second restart keeps reporting it.
func TestWakeReasonAfterRestart(t *testing.T) {
	p, _ := newTestProcess(t, map[string]string{})
	if r := wakeReason(t, p); r != abi.WakeReasonColdBoot {
		t.Fatalf("first start: %v, want COLDBOOT", r)
	}
	env := restartedEnv(t, p)
	if env[EnvWakeReason] != "2" || env[EnvRestarts] != "1" {
		t.Fatalf("restart env %s=%q %s=%q", EnvWakeReason, env[EnvWakeReason], EnvRestarts, env[EnvRestarts])
	}
	p2, _ := newTestProcess(t, env)
	if r := wakeReason(t, p2); r != abi.WakeReasonRemoteApplicationRestart {
		t.Fatalf("after mvRestart: %v, want REMOTEAPPLICATIONRESTART", r)
	}
	env2 := restartedEnv(t, p2)
	if env2[EnvWakeReason] != "2" || env2[EnvRestarts] != "2" {
		t.Fatalf("second restart env %s=%q %s=%q", EnvWakeReason, env2[EnvWakeReason], EnvRestarts, env2[EnvRestarts])
	}
}

// mvRestart(AUTOAPPLYUPDATE) after the cloud announced a downloaded update
// applies it: the restarted application reads APPLICATIONUPDATE.
func TestWakeReasonAfterUpdate(t *testing.T) {
	p, _ := newTestProcess(t, map[string]string{})
	if _, err := p.Kernel(); err != nil {
		t.Fatal(err)
	}
	p.announceUpdate()
	poll.Until(t, "the kernel to hear of the update", p.k.UpdatePending)
	env := restartedEnv(t, p)
	p2, _ := newTestProcess(t, env)
	if r := wakeReason(t, p2); r != abi.WakeReasonApplicationUpdate {
		t.Fatalf("after an update and mvRestart: %v, want APPLICATIONUPDATE", r)
	}
}

func TestWakeReasonAndPlaintextConfig(t *testing.T) {
	get := func(env map[string]string) (Config, error) {
		return ConfigFromEnv(func(k string) string { return env[k] })
	}
	if c, err := get(map[string]string{}); err != nil || c.MQTTPlaintext || c.WakeReason != abi.WakeReasonColdBoot {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	if c, err := get(map[string]string{EnvMQTTPlaintext: "1", EnvWakeReason: "9"}); err != nil || !c.MQTTPlaintext || c.WakeReason != abi.WakeReasonApplicationUpdate {
		t.Fatalf("MVNET_MQTT_PLAINTEXT=1 MVNET_WAKE_REASON=9: %+v, %v", c, err)
	}
	for name, bad := range map[string]string{EnvMQTTPlaintext: "yes", EnvWakeReason: "17"} {
		_, err := get(map[string]string{name: bad})
		var ce *ConfigError
		if err == nil || !strings.Contains(err.Error(), name) || !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%s=%q: err = %v, want a ConfigError naming the variable", name, bad, err)
		}
	}
}
