package scenario_test

import (
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/scenario"
)

// TestGoDoorConfig: config: and secrets: are set before the application
// starts and set-secret: when a stdout line says so, in a MemConfig the
// cloud answers the device's config fetches from.
func TestGoDoorConfig(t *testing.T) {
	sc, err := scenario.Parse("config.yaml", []byte(`version: 1
config:
  - {key: url, value: "https://api.test/data"}
secrets:
  - {key: token, value: s3cret, scope: account}
timeline:
  - when: {stdout: "^rotate"}
    set-secret: {key: token, value: rotated, scope: account}
expect:
  - stdout: "^rotate"
`))
	if err != nil {
		t.Fatal(err)
	}
	conf := &scenario.MemConfig{}
	c := testenv.NewCloud(t, cloud.Options{Config: conf})
	d := testenv.NewDevice(t, c, device.Options{})
	ctx := testenv.Context(t, 30*time.Second)
	run, err := scenario.Start(ctx, sc, scenario.Target{Device: d.ID(), Faults: c.Faults(), Config: conf}, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Connect(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	keys := []device.ConfigKey{
		{Scope: abi.ConfigKeyFetchScopeDevice, Store: abi.ConfigKeyFetchStoreConfig, Key: "url"},
		{Scope: abi.ConfigKeyFetchScopeAccount, Store: abi.ConfigKeyFetchStoreSecret, Key: "token"},
	}
	fetch := func() []device.ConfigItem {
		t.Helper()
		res, items, err := d.FetchConfig(ctx, n, keys, 1024, 512)
		if err != nil || res != abi.ConfigFetchResultOK || len(items) != 2 {
			t.Fatalf("config fetch: %v %+v %v", res, items, err)
		}
		return items
	}
	if items := fetch(); string(items[0].Value) != "https://api.test/data" || string(items[1].Value) != "s3cret" {
		t.Fatalf("values at the start: %q %q", items[0].Value, items[1].Value)
	}
	run.Stdout("rotate now")
	poll.Within(t, 15*time.Second, "the rotated secret", func() bool { return string(fetch()[1].Value) == "rotated" })
	<-run.Done()
	if rep := run.Finish(); rep.Failed() {
		t.Errorf("report %+v", rep)
	}
}
