package demo

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
)

// The config-and-logging part of the demo: the cloud's store (embedded NATS
// JetStream in a temporary directory) holds an account config value and a
// device secret; the device fetches both on a CONFIGFETCH channel and sends
// a server log line, which the demo reads back from the store's log stream.

const (
	demoConfigKey   = "broker-host"
	demoConfigValue = "mqtt.example.com"
	demoSecretKey   = "api-key"
	demoSecretValue = "s3cr3t-for-this-device-only"
	demoLogLine     = "mvnet demo: hello from the device's server log"
)

// openDemoStore opens an ephemeral store; close removes its data.
func openDemoStore(ctx context.Context) (*store.Store, func(), error) {
	dir, err := os.MkdirTemp("", "mvnet-demo-store-")
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }, nil
}

// seedDemoStore registers the device and stores the values it will fetch.
func seedDemoStore(ctx context.Context, st *store.Store, deviceID string) error {
	if _, err := st.RegisterDevice(ctx, deviceID); err != nil {
		return err
	}
	if _, err := st.PutConfig(ctx, store.AccountScope, demoConfigKey, []byte(demoConfigValue), store.Upsert); err != nil {
		return err
	}
	_, err := st.PutSecret(ctx, store.DeviceScope(deviceID), demoSecretKey, []byte(demoSecretValue), store.Upsert)
	return err
}

// configLogFlow fetches the config value and the secret, logs a line, and
// shows the line arriving in the cloud's log stream.
func configLogFlow(ctx context.Context, d *device.Device, st *store.Store, p *printer) error {
	p.step("Config: fetch an account config value and a device secret (and a missing key)")
	lines, err := st.FollowLogs(ctx, d.ID(), store.LogFrom{New: true})
	if err != nil {
		return err
	}
	n, err := d.Connect(ctx, 41) // TIM1_BRK_IRQn
	if err != nil {
		return err
	}
	result, items, err := d.FetchConfig(ctx, n, []device.ConfigKey{
		{Scope: abi.ConfigKeyFetchScopeAccount, Store: abi.ConfigKeyFetchStoreConfig, Key: demoConfigKey},
		{Scope: abi.ConfigKeyFetchScopeDevice, Store: abi.ConfigKeyFetchStoreSecret, Key: demoSecretKey},
		{Scope: abi.ConfigKeyFetchScopeAccount, Store: abi.ConfigKeyFetchStoreConfig, Key: "no-such-key"},
	}, 1024, 512)
	if err != nil {
		return err
	}
	if result != abi.ConfigFetchResultOK || len(items) != 3 {
		return fmt.Errorf("config fetch: %s with %d items", result, len(items))
	}
	p.say("    %s = %q (%s)", demoConfigKey, items[0].Value, items[0].Result)
	p.say("    %s = %q (%s)", demoSecretKey, items[1].Value, items[1].Result)
	p.say("    no-such-key: %s", items[2].Result)
	if string(items[0].Value) != demoConfigValue || string(items[1].Value) != demoSecretValue ||
		items[2].Result != abi.ConfigKeyFetchResultKeyNotFound {
		return fmt.Errorf("config fetch returned unexpected values")
	}

	p.step("Server logging: mvServerLoggingInit, mvServerLog, the line in the cloud's log stream")
	if _, st, err := d.ServerLoggingInit(1024); err != nil || st != abi.StatusOkay {
		return fmt.Errorf("mvServerLoggingInit: %s %v", st, err)
	}
	if st, err := d.ServerLog(demoLogLine); err != nil || st != abi.StatusOkay {
		return fmt.Errorf("mvServerLog: %s %v", st, err)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case l, ok := <-lines:
		if !ok {
			return fmt.Errorf("the log stream ended")
		}
		p.say("    log stream: device %s seq %d at %s: %q", l.DeviceID, l.Seq, l.At.Format(time.RFC3339Nano), l.Line)
		if string(l.Line) != demoLogLine {
			return fmt.Errorf("the streamed line is not the one logged")
		}
	case <-wait.Done():
		return fmt.Errorf("the log line did not reach the cloud's log stream")
	}
	return d.Release(n)
}
