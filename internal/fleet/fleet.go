// Package fleet is mvnet's load generator: a fleet of emulated devices
// (package device, each over its own real TLS link opened with its
// credential bundle's Dial) driven against a running cloud, and a report of
// what they saw. `mvnet fleet` is its command line (docs/scaling.md).
//
// A run has three phases:
//
//  1. Connect. Devices boot and bring their network up, all at once or
//     along a ramp (Options.Ramp, Options.RampRate); each has
//     Options.ConnectTimeout to reach CONNECTED. Per-device setup follows:
//     mvServerLoggingInit for the logs operation, an MQTT channel connected
//     to Options.Broker for the mqtt operation (timed as "mqtt.connect").
//  2. Load. With Options.Rate 0 every connected device runs the scenario
//     once, all at the same moment (a burst). With a rate, the fleet runs
//     Rate scenario iterations per second in all, spread evenly over the
//     devices, for Options.Duration. The operations of one iteration run
//     at once, each on its own channel, as an application with several
//     tasks would.
//  3. Drain. The fleet waits (Options.Drain) until the cloud has
//     acknowledged every log line, and reports the lines it has not (their
//     logs operations failed already: see below).
//
// Operations: "http" (one request to Options.URL on an HTTP channel),
// "logs" (one mvServerLog line, done when the cloud acknowledges it with
// LOGACK; not within Options.OpTimeout: "not acknowledged by the cloud"), "config" (one config fetch of
// Options.ConfigKey), "mqtt" (one QoS 1 publish to mvnet-fleet/<SID> on the
// device's MQTT session, answered by the broker's PUBACK). A scenario is a
// list of them; "mixed" is all four.
//
// Latencies are exact: every sample is kept and sorted (nearest-rank
// percentiles); a sample is 8 bytes, so a million operations cost 8 MB.
// With a rate, an operation's latency counts from when its iteration was
// due, so the time an iteration waits because its device fell behind is
// in it; the report says how many iterations were due (Rate × Duration)
// and how many started within the duration.
//
// With Options.Metrics the fleet reads the cloud's Prometheus endpoint
// before the devices connect, once they are connected and idle, and at
// the end, and reports the cloud's RSS and goroutines per connected device.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/mem"
)

// Operations a scenario is made of.
const (
	OpHTTP   = "http"
	OpLogs   = "logs"
	OpConfig = "config"
	OpMQTT   = "mqtt"
	// OpMQTTConnect is the per-device MQTT connect of the setup phase,
	// reported like an operation.
	OpMQTTConnect = "mqtt.connect"
	// Mixed names every operation.
	Mixed = "mixed"
)

// allOps are the operations in report order.
var allOps = []string{OpHTTP, OpLogs, OpConfig, OpMQTT}

// Defaults.
const (
	DefaultConnectTimeout = 60 * time.Second
	DefaultOpTimeout      = 30 * time.Second
	DefaultDrain          = 30 * time.Second
	DefaultConfigKey      = "fleet"
)

// Device memory and buffers: small, so that thousands of devices fit in
// one process. The SRAM holds the device API's 16 KiB scratch area, the
// notification ring, the log buffer and the open channels' buffers.
const (
	sramSize    = 96 << 10
	flashSize   = 4 << 10
	httpRxSize  = 8192 // the largest response body an http operation reads
	httpTxSize  = 1024
	cfgRxSize   = 1024
	cfgTxSize   = 512
	mqttBufSize = 2048
	logBufSize  = 4096
	irq         = 51 // TIM8_BRK_IRQn, as the examples use
)

// Options configure a run.
type Options struct {
	// Bundles are the devices' credentials; the fleet uses the first
	// Devices of them (all when Devices is 0).
	Bundles []*device.Bundle
	Devices int
	// Scenario lists the operations of one iteration (OpHTTP, OpLogs,
	// OpConfig, OpMQTT, or Mixed for all).
	Scenario []string
	// Rate is scenario iterations per second across the fleet; 0 runs
	// one burst: every device once, at once.
	Rate float64
	// Duration of the load phase at Rate; required with a rate.
	Duration time.Duration
	// Ramp spreads the connects evenly over this time; RampRate instead
	// starts this many devices per second. Neither: all at once.
	Ramp     time.Duration
	RampRate float64
	// ConnectTimeout bounds each device's connect (default 60 s).
	ConnectTimeout time.Duration
	// OpTimeout bounds each operation (default 30 s); the http
	// operation's request timeout is the same.
	OpTimeout time.Duration
	// Drain bounds the wait for log acknowledgements (default 30 s).
	Drain time.Duration
	// URL is the http operation's target (GET).
	URL string
	// Broker is the mqtt operation's broker, host:port; BrokerCA, if
	// set, its CA (DER) sent as the connect's tls_credentials (else the
	// connect has none: the cloud decides, see --mqtt-plaintext).
	Broker   string
	BrokerCA []byte
	// ConfigKey is the account config key the config operation fetches
	// (default "fleet").
	ConfigKey string
	// Metrics is the cloud's Prometheus endpoint ("" for none).
	Metrics string
	// Progress, if set, receives a progress line now and then (Progress
	// decides how: a terminal line rewritten in place, or plain lines).
	Progress *Progress
}

// ParseScenario turns "http,logs" or "mixed" into the list of operations.
func ParseScenario(s string) ([]string, error) {
	var ops []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case Mixed:
			ops = append(ops, allOps...)
		case OpHTTP, OpLogs, OpConfig, OpMQTT:
			ops = append(ops, f)
		default:
			return nil, fmt.Errorf("--scenario %q: %q is not an operation (want http, mqtt, logs, config or mixed, or a comma-separated list)", s, f)
		}
	}
	// Keep report order, once each.
	var out []string
	for _, op := range allOps {
		for _, o := range ops {
			if o == op {
				out = append(out, op)
				break
			}
		}
	}
	return out, nil
}

// check validates o and fills in defaults; errors name the flag.
func (o *Options) check() error {
	if o.Devices < 0 {
		return fmt.Errorf("--devices %d: want a positive number", o.Devices)
	}
	if len(o.Bundles) == 0 {
		return errors.New("--bundles: no device bundles (create them with 'mvnet device create --count N --out DIR')")
	}
	if o.Devices == 0 {
		o.Devices = len(o.Bundles)
	}
	if o.Devices > len(o.Bundles) {
		return fmt.Errorf("--devices %d: only %d bundles (create more with 'mvnet device create --count N --out DIR')", o.Devices, len(o.Bundles))
	}
	if len(o.Scenario) == 0 {
		return errors.New("--scenario: no operations")
	}
	ops, err := ParseScenario(strings.Join(o.Scenario, ","))
	if err != nil {
		return err
	}
	o.Scenario = ops
	if o.Rate < 0 {
		return fmt.Errorf("--rate %g: want iterations per second ≥ 0", o.Rate)
	}
	if o.Rate > 0 && o.Duration <= 0 {
		return fmt.Errorf("--rate %g needs --duration (how long to keep the rate)", o.Rate)
	}
	if o.Rate == 0 && o.Duration != 0 {
		return errors.New("--duration needs --rate (without a rate every device runs the scenario once, at once)")
	}
	if o.Ramp < 0 || o.RampRate < 0 {
		return errors.New("--ramp: want a duration (30s) or a rate (200/s)")
	}
	for _, op := range o.Scenario {
		switch op {
		case OpHTTP:
			u, err := url.Parse(o.URL)
			if o.URL == "" || err != nil || u.Scheme == "" || u.Host == "" {
				return fmt.Errorf("--url %q: the http operation needs an absolute URL (https://host/path)", o.URL)
			}
		case OpMQTT:
			if o.Broker == "" {
				return errors.New("--broker: the mqtt operation needs the broker's host:port")
			}
			if _, _, err := splitBroker(o.Broker); err != nil {
				return err
			}
		}
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	if o.Drain == 0 {
		o.Drain = DefaultDrain
	}
	if o.ConfigKey == "" {
		o.ConfigKey = DefaultConfigKey
	}
	return nil
}

func (o *Options) has(op string) bool {
	for _, s := range o.Scenario {
		if s == op {
			return true
		}
	}
	return false
}

// Run runs the fleet and returns its report. An error means the run could
// not be made at all (bad options); failures of devices and operations are
// in the report (Report.Failed).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	r := newRun(&o)
	defer r.closeAll()
	start := time.Now()
	r.rep.Cloud.Before = r.scrape(ctx)
	r.connectAll(ctx)
	r.rep.Cloud.Idle = r.scrapeIdle(ctx)
	r.load(ctx)
	r.drain(ctx)
	r.rep.Cloud.After = r.scrape(ctx)
	r.progress.stop()
	r.rep.finish(&o, r, time.Since(start))
	return &r.rep, nil
}

// run is one run's state.
type run struct {
	o        *Options
	rep      Report
	members  []*member
	progress *progressLoop
	stats    *stats
}

func newRun(o *Options) *run {
	r := &run{o: o, stats: newStats()}
	r.members = make([]*member, o.Devices)
	for i := range r.members {
		r.members[i] = &member{b: o.Bundles[i], index: i}
	}
	r.progress = startProgress(o.Progress, r)
	return r
}

func (r *run) connectedCount() int {
	n := 0
	for _, m := range r.members {
		if m.connected() {
			n++
		}
	}
	return n
}

// connectAll boots every device along the ramp and waits for the last
// connect to end.
func (r *run) connectAll(ctx context.Context) {
	r.progress.phase("connect")
	gap := time.Duration(0)
	switch {
	case r.o.RampRate > 0:
		gap = time.Duration(float64(time.Second) / r.o.RampRate)
	case r.o.Ramp > 0 && len(r.members) > 1:
		gap = r.o.Ramp / time.Duration(len(r.members)-1)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, m := range r.members {
		if gap > 0 {
			if !sleepUntil(ctx, start.Add(time.Duration(i)*gap)) {
				break
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.connect(ctx, r)
		}()
	}
	wg.Wait()
	// The span ends at the last CONNECTED, not at the setup after it or
	// at the timeouts of devices that failed (none connected: the whole
	// phase).
	end := r.stats.lastConnected()
	if end.IsZero() {
		end = time.Now()
	}
	r.rep.Connect.Seconds = end.Sub(start).Seconds()
}

// load runs the scenario: one burst, or Rate iterations per second for
// Duration.
func (r *run) load(ctx context.Context) {
	r.progress.phase("load")
	var live []*member
	for _, m := range r.members {
		if m.connected() {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	var wg sync.WaitGroup
	if r.o.Rate == 0 {
		for _, m := range live {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.iterate(ctx, r, time.Time{})
			}()
		}
		wg.Wait()
		r.rep.LoadSeconds = time.Since(start).Seconds()
		return
	}
	// Device i's k-th iteration is due at start + (i + k·N)/Rate: the
	// fleet's iterations evenly spaced, each device's N/Rate apart. A
	// device that falls behind runs its next one at once (timed from when
	// it was due); every iteration due before the end runs, unless ctx
	// ends (then it is missed).
	end := start.Add(r.o.Duration)
	n := len(live)
	var due, started, inTime, missed atomic.Int64
	for i, m := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				at := start.Add(time.Duration(float64(i+k*n) / r.o.Rate * float64(time.Second)))
				if !at.Before(end) {
					return
				}
				due.Add(1)
				if !sleepUntil(ctx, at) {
					missed.Add(1)
					continue
				}
				started.Add(1)
				if time.Now().Before(end) {
					inTime.Add(1)
				}
				m.iterate(ctx, r, at)
			}
		}()
	}
	wg.Wait()
	r.rep.LoadSeconds = time.Since(start).Seconds()
	r.rep.IterationsDue, r.rep.Iterations = int(due.Load()), int(started.Load())
	r.rep.IterationsMissed = int(missed.Load())
	r.rep.IterationsLate = int(started.Load() - inTime.Load())
	r.rep.RateAchieved = round(float64(inTime.Load()) / r.o.Duration.Seconds())
}

// drain waits until the cloud has acknowledged every log line, at most
// Options.Drain, and reports the lines still held. Their logs operations
// failed already ("not acknowledged by the cloud": an operation waits for
// its line's acknowledgement), so they are not counted again.
func (r *run) drain(ctx context.Context) {
	if !r.o.has(OpLogs) {
		return
	}
	r.progress.phase("drain")
	dctx, cancel := context.WithTimeout(ctx, r.o.Drain)
	defer cancel()
	pending := func() int {
		n := 0
		for _, m := range r.members {
			if m.d != nil {
				n += m.d.Kernel.LogsPending()
			}
		}
		return n
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for pending() > 0 {
		select {
		case <-dctx.Done():
			r.rep.LogsUnacknowledged = pending()
			return
		case <-tick.C:
		}
	}
}

// closeAll closes the devices, a few at a time (each Close waits for its
// kernel).
func (r *run) closeAll() {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for _, m := range r.members {
		if m.d == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = m.d.Close()
		}()
	}
	wg.Wait()
	r.progress.stop()
}

// sleepUntil waits until t or ctx's end; false if ctx ended.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newDevice boots a device for bundle b.
func newDevice(b *device.Bundle) (*device.Device, error) {
	dial, err := b.Dial()
	if err != nil {
		return nil, err
	}
	return device.New(device.Options{
		DeviceID: b.DeviceSid, Dial: dial,
		Arena: mem.ArenaConfig{SRAMSize: sramSize, FlashSize: flashSize},
	})
}
