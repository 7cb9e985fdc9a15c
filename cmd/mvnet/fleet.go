package main

// mvnet fleet: the load generator (internal/fleet, docs/scaling.md).

import (
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/internal/fleet"
)

type fleetFlags struct {
	bundles      string
	devices      int
	scenario     string
	rate         float64
	duration     time.Duration
	ramp         string
	connectTO    time.Duration
	opTO         time.Duration
	drain        time.Duration
	url          string
	broker       string
	brokerCA     string
	configKey    string
	metrics      string
	output       outputFlag
	maxErrorRate float64
	quiet        bool
}

func newFleetCmd() *cobra.Command {
	var f fleetFlags
	cmd := &cobra.Command{
		Use:   "fleet --bundles DIR [--devices N] [--scenario OPS] [--rate R --duration D]",
		Short: "Drive a running cloud with a fleet of emulated devices and report what they saw",
		Long: `Load-test a running cloud ('mvnet cloud serve') with emulated devices: each is
the Go device API's kernel over its own TLS 1.3 link, opened with its
credential bundle, doing what a Microvisor application does through the
system calls. Create the bundles first with
'mvnet device create --count N --out DIR'.

A run connects the devices (all at once, or along --ramp), then loads the
cloud, then waits (--drain) until the cloud has acknowledged every log line.

Operations (--scenario, a comma-separated list; "mixed" is all four):
  http    one GET of --url on an HTTP channel (response bodies up to 8 KiB)
  logs    one mvServerLog line, done when the cloud acknowledges it (LOGACK)
  config  one config fetch of the account config key --config-key
  mqtt    one QoS 1 publish to mvnet-fleet/<SID> on the device's MQTT session
          with --broker (connected once per device, reported as mqtt.connect;
          without --broker-ca the connect carries no TLS credentials, so the
          cloud needs --mqtt-plaintext for a plain broker)
The operations of one iteration run at once, each on its own channel.

Load: without --rate every connected device runs the scenario once, all at
the same moment (a burst). With --rate R --duration D the fleet runs R
iterations per second in all, spread evenly over the devices, for D; a late
iteration's latencies count from when it was due, and the report gives the
iterations due, run, late and missed and the rate achieved. Like a
real Microvisor device, each device opens at most 8 channels per second:
keep R/devices low enough for http and config (else mvOpenChannel returns
MV_STATUS_RATELIMITED, reported as such).

The report (text, or --output json) gives the connect rate, connect
failures by reason, per operation the count, failures, throughput and
exact p50/p99/p999/max latency (failed attempts included), errors by status
name (MV_HTTPRESULT_REQUESTFAILED, "HTTP 503", "mvOpenChannel:
MV_STATUS_RATELIMITED", "timeout", …) and, with --metrics, the cloud's RSS,
goroutines and connected devices from its Prometheus endpoint before the
devices connected, once they were idle, and at the end, with RSS and
goroutines per connected device. Progress goes to stderr (one line
rewritten in place on a terminal, a line every 2 s otherwise).

Exit status: 0 when the share of failed connects and operations is at most
--max-error-rate (default 0: any failure), 1 otherwise (the report is
printed either way), 1 too for bad flags.`,
		Example: `  # 200 devices for a cloud running on ./mvnet-data
  mvnet device create --data-dir ./mvnet-data --count 200 --name-prefix load --out ./fleet
  # Every device logs one line, all at once
  mvnet fleet --bundles ./fleet --scenario logs
  # The issue 11 burst: one relayed GET and one log line per device, at once,
  # with the cloud's memory from its metrics endpoint, as JSON
  mvnet fleet --bundles ./fleet --scenario http,logs --url https://example.com/ \
      --metrics http://127.0.0.1:9090/metrics --output json
  # 100 iterations per second of everything for a minute, devices connecting
  # at 50 per second, tolerating 0.1 % failures
  mvnet fleet --bundles ./fleet --scenario mixed --url https://example.com/ \
      --broker 127.0.0.1:1883 --rate 100 --duration 1m --ramp 50/s --max-error-rate 0.001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runFleet(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.bundles, "bundles", "", "directory of device bundles (from 'mvnet device create --count N --out DIR'); required")
	fl.IntVar(&f.devices, "devices", 0, "how many devices to run, the first N bundles by name (default: all)")
	fl.StringVar(&f.scenario, "scenario", "logs", "operations of one iteration: http, mqtt, logs, config, a comma-separated list, or mixed (all)")
	fl.Float64Var(&f.rate, "rate", 0, "scenario iterations per second across the fleet (0: one burst, every device once, at once)")
	fl.DurationVar(&f.duration, "duration", 0, "how long to keep --rate (e.g. 1m)")
	fl.StringVar(&f.ramp, "ramp", "", "connect the devices along a ramp: over a duration (30s) or at a rate (200/s) (default: all at once)")
	fl.DurationVar(&f.connectTO, "connect-timeout", fleet.DefaultConnectTimeout, "time each device has to bring its network up")
	fl.DurationVar(&f.opTO, "op-timeout", fleet.DefaultOpTimeout, "time each operation has (an http request's own timeout is at most 10s, spec/abi.md)")
	fl.DurationVar(&f.drain, "drain", fleet.DefaultDrain, "time to wait at the end for the cloud to acknowledge every log line")
	fl.StringVar(&f.url, "url", "", "the http operation's target (GET)")
	fl.StringVar(&f.broker, "broker", "", "the mqtt operation's broker, host:port as the cloud reaches it")
	fl.StringVar(&f.brokerCA, "broker-ca", "", "PEM file of the broker's CA, sent as the MQTT connect's TLS credentials")
	fl.StringVar(&f.configKey, "config-key", fleet.DefaultConfigKey, "the account config key the config operation fetches ('mvnet config set' it first)")
	fl.StringVar(&f.metrics, "metrics", "", "the cloud's Prometheus endpoint, e.g. http://127.0.0.1:9090/metrics (cloud RSS and goroutines per device)")
	fl.Float64Var(&f.maxErrorRate, "max-error-rate", 0, "exit 0 while failed connects and operations are at most this share of all (0.01 = 1 %)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress on stderr")
	addOutputFlag(fl, &f.output)
	return cmd
}

// fleetOptions turns the flags into the run's options; errors name the
// flag.
func fleetOptions(f fleetFlags) (fleet.Options, error) {
	var o fleet.Options
	if f.bundles == "" {
		return o, fmt.Errorf("--bundles: give the directory of device bundles ('mvnet device create --count N --out DIR' writes one)")
	}
	if f.devices < 0 {
		return o, fmt.Errorf("--devices %d: want a positive number", f.devices)
	}
	if f.maxErrorRate < 0 || f.maxErrorRate > 1 {
		return o, fmt.Errorf("--max-error-rate %g: want a share between 0 and 1", f.maxErrorRate)
	}
	ops, err := fleet.ParseScenario(f.scenario)
	if err != nil {
		return o, err
	}
	o = fleet.Options{Devices: f.devices, Scenario: ops, Rate: f.rate, Duration: f.duration,
		ConnectTimeout: f.connectTO, OpTimeout: f.opTO, Drain: f.drain,
		URL: f.url, Broker: f.broker, ConfigKey: f.configKey, Metrics: f.metrics}
	if f.ramp != "" {
		if r, ok := strings.CutSuffix(f.ramp, "/s"); ok {
			v, err := strconv.ParseFloat(r, 64)
			if err != nil || v <= 0 {
				return o, fmt.Errorf("--ramp %q: want a duration (30s) or a rate (200/s)", f.ramp)
			}
			o.RampRate = v
		} else {
			d, err := time.ParseDuration(f.ramp)
			if err != nil || d < 0 {
				return o, fmt.Errorf("--ramp %q: want a duration (30s) or a rate (200/s)", f.ramp)
			}
			o.Ramp = d
		}
	}
	if f.brokerCA != "" {
		b, err := os.ReadFile(f.brokerCA)
		if err != nil {
			return o, fmt.Errorf("--broker-ca: %w", err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "CERTIFICATE" {
			return o, fmt.Errorf("--broker-ca %s: no PEM certificate", f.brokerCA)
		}
		o.BrokerCA = blk.Bytes
	}
	return o, nil
}

func runFleet(cmd *cobra.Command, f fleetFlags) error {
	o, err := fleetOptions(f)
	if err != nil {
		return err
	}
	if o.Bundles, err = fleet.LoadBundles(f.bundles, f.devices); err != nil {
		return err
	}
	if !f.quiet {
		errOut := cmd.ErrOrStderr()
		file, ok := errOut.(*os.File)
		o.Progress = fleet.NewProgress(errOut, ok && fleet.IsTerminal(file))
	}
	rep, err := fleet.Run(ctxOf(cmd), o)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if f.output == "json" {
		err = printJSON(w, rep)
	} else {
		err = rep.WriteText(w)
	}
	if err != nil {
		return err
	}
	if r := rep.ErrorRate(); r > f.maxErrorRate {
		return fmt.Errorf("fleet: %d failed connects and operations (%.3g%% of all), over --max-error-rate %g", rep.Failures(), 100*r, f.maxErrorRate)
	}
	return nil
}
