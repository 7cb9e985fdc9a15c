package scenario_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/scenario"
)

// keptLogs is a log store that keeps nothing but enables server logging
// (a real cloud stores the lines: cloud/store).
type keptLogs struct{}

func (keptLogs) AppendLog(context.Context, string, uint64, time.Time, []byte) error { return nil }
func (keptLogs) LoggingEnabled(context.Context, string) (bool, error)               { return true, nil }

// A Go test runs a scenario against a device of an in-process cloud: the
// cloud reports what devices do to the run (Options.Observe), the values
// of config: and set-config: go to a MemConfig the cloud fetches from, and
// the test drives the device through package device while the run applies
// the timeline's faults. (scenario.ParseFile reads a file; errors name its
// line and field: "s.yaml:12: timeline[0].apply.period: not a duration …".)
func Example() {
	sc, err := scenario.Parse("example.yaml", []byte(`version: 1
name: the device says hello
duration: 30s
timeline:
  - name: fast mode
    when: {log: "^hello"}
    set-config: {key: mode, value: fast}
expect:
  - log: "^hello"
    within: 20s
  - never: {request: "https://*"}
`))
	if err != nil {
		log.Fatal(err)
	}
	var relay scenario.Relay // the run starts after the cloud
	conf := &scenario.MemConfig{}
	srv, err := cloud.New(cloud.Options{Config: conf, Logs: keptLogs{}, Observe: relay.Observe})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	d, err := device.New(device.Options{Dial: srv.Dial})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	run, err := scenario.Start(ctx, sc, scenario.Target{Device: d.ID(), Faults: srv.Faults(), Config: conf}, scenario.Options{})
	if err != nil {
		log.Fatal(err)
	}
	relay.Set(run)
	// Drive the device (a Go test feeds run.Stdout, run.Status and run.Exit
	// as an application would).
	if _, err := d.Connect(ctx, 51); err != nil {
		log.Fatal(err)
	}
	if _, _, err := d.ServerLoggingInit(4096); err != nil {
		log.Fatal(err)
	}
	if _, err := d.ServerLog("hello from the device"); err != nil {
		log.Fatal(err)
	}
	<-run.Done() // every expectation decided (or the duration passed)
	rep := run.Finish()
	for _, r := range rep.Results {
		fmt.Println(r.Passed, r.Name)
	}
	// rep.WriteSummary(os.Stdout) and rep.WriteJUnit(f) write the reports.
	fmt.Println("failed:", rep.Failed(), "steps not run:", len(rep.NotRun))

	// Output:
	// true log "^hello" within 20s
	// true never request https://*
	// failed: false steps not run: 0
}
