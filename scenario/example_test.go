package scenario_test

import (
	"context"
	"log"
	"os"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/scenario"
)

// A Go test runs a scenario against a device of an in-process cloud: the
// cloud reports what devices do to the run (Options.Observe), the values
// of config: and set-config: go to a MemConfig the cloud fetches from, and
// the test drives the device through package device while the run applies
// the timeline's faults.
func Example() {
	sc, err := scenario.ParseFile("testdata/full.yaml")
	if err != nil {
		log.Fatal(err) // e.g. testdata/full.yaml:12: timeline[0].apply.period: not a duration ...
	}
	var relay scenario.Relay // the run starts after the cloud
	conf := &scenario.MemConfig{}
	srv, err := cloud.New(cloud.Options{Config: conf, Observe: relay.Observe})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
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
	// ... drive the device: d.Connect, d.OpenChannel, d.SendHTTPRequest ...
	// feeding run.Stdout, run.Status and run.Exit as the application would.
	<-run.Done()
	rep := run.Finish()
	_ = rep.WriteSummary(os.Stdout)
	_ = rep.WriteJUnit(os.Stderr)
	if rep.Failed() {
		log.Fatal("scenario failed")
	}
}
