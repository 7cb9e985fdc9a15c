package fleet

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Report is what a run saw. Times are in milliseconds or seconds as the
// field names say; latencies are exact nearest-rank percentiles over every
// attempt, failed ones included (a timed-out operation counts its
// timeout).
type Report struct {
	Scenario        []string `json:"scenario"`
	Devices         int      `json:"devices"`
	Rate            float64  `json:"rate,omitempty"`
	DurationSeconds float64  `json:"duration_s,omitempty"`

	Connect ConnectReport `json:"connect"`
	// LoadSeconds is the load phase's length: the burst from its start to
	// its last operation's end, or the rate's duration (longer when
	// iterations ran late).
	LoadSeconds float64 `json:"load_s"`
	// With a rate: IterationsDue are the scenario iterations due in the
	// duration (Rate × Duration); Iterations those that ran, IterationsLate
	// those of them that started after the duration's end (the fleet fell
	// behind), IterationsMissed those that did not run (the run was
	// interrupted). RateAchieved is the iterations started within the
	// duration per second of it.
	IterationsDue    int        `json:"iterations_due,omitempty"`
	Iterations       int        `json:"iterations,omitempty"`
	IterationsLate   int        `json:"iterations_late,omitempty"`
	IterationsMissed int        `json:"iterations_missed,omitempty"`
	RateAchieved     float64    `json:"rate_achieved,omitempty"`
	Ops              []OpReport `json:"ops"`
	// LogsUnacknowledged are log lines the cloud had not acknowledged at
	// the end of the drain (their logs operations failed already, "not
	// acknowledged by the cloud").
	LogsUnacknowledged int         `json:"logs_unacknowledged"`
	Cloud              CloudReport `json:"cloud"`
	ElapsedSeconds     float64     `json:"elapsed_s"`
}

// ConnectReport is the connect phase.
type ConnectReport struct {
	Attempted int `json:"attempted"`
	Connected int `json:"connected"`
	Failed    int `json:"failed"`
	// Seconds from the first device's boot to the last device's network
	// CONNECTED (setup after it and the timeouts of devices that failed
	// are not in it; with none connected, the whole phase); PerSecond is
	// Connected over it.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// Latency from boot to network CONNECTED (connected devices only).
	Latency Latency        `json:"latency_ms"`
	Errors  map[string]int `json:"errors,omitempty"`
}

// OpReport is one operation's outcome.
type OpReport struct {
	Op     string `json:"op"`
	Count  int    `json:"count"`
	OK     int    `json:"ok"`
	Failed int    `json:"failed"`
	// PerSecond is operations completed per second, from the first's
	// start to the last's end.
	PerSecond float64        `json:"per_second"`
	Latency   Latency        `json:"latency_ms"`
	Errors    map[string]int `json:"errors,omitempty"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Failures is the number of failed connects and operations.
func (r *Report) Failures() int {
	n := r.Connect.Failed
	for _, o := range r.Ops {
		n += o.Failed
	}
	return n
}

// ErrorRate is Failures over every connect and operation attempted.
func (r *Report) ErrorRate() float64 {
	total := r.Connect.Attempted
	for _, o := range r.Ops {
		total += o.Count
	}
	if total == 0 {
		return 0
	}
	return float64(r.Failures()) / float64(total)
}

// Op returns the report of operation op, or nil.
func (r *Report) Op(op string) *OpReport {
	for i := range r.Ops {
		if r.Ops[i].Op == op {
			return &r.Ops[i]
		}
	}
	return nil
}

// stats collects samples; safe for concurrent use.
type stats struct {
	mu         sync.Mutex
	connectAt  time.Time // the last CONNECTED
	connectLat []time.Duration
	connectErr map[string]int
	ops        map[string]*opStats
}

type opStats struct {
	lat         []time.Duration
	failed      int
	errs        map[string]int
	first, last time.Time
}

func newStats() *stats {
	return &stats{connectErr: map[string]int{}, ops: map[string]*opStats{}}
}

func (s *stats) connected(d time.Duration) {
	now := time.Now()
	s.mu.Lock()
	s.connectLat = append(s.connectLat, d)
	if now.After(s.connectAt) {
		s.connectAt = now
	}
	s.mu.Unlock()
}

// lastConnected is when the last device reached CONNECTED (zero: none).
func (s *stats) lastConnected() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectAt
}

func (s *stats) connectFailed(why string) {
	s.mu.Lock()
	s.connectErr[why]++
	s.mu.Unlock()
}

func (s *stats) op(name string) *opStats {
	o := s.ops[name]
	if o == nil {
		o = &opStats{errs: map[string]int{}}
		s.ops[name] = o
	}
	return o
}

// record adds one attempt of op that took d; key is "" on success.
func (s *stats) record(op string, d time.Duration, key string) {
	end := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.op(op)
	o.lat = append(o.lat, d)
	if start := end.Add(-d); o.first.IsZero() || start.Before(o.first) {
		o.first = start
	}
	if end.After(o.last) {
		o.last = end
	}
	if key != "" {
		o.failed++
		o.errs[key]++
	}
}

// progress returns counts for the progress line.
func (s *stats) progress() (connected, connectFailed, ops, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	connected = len(s.connectLat)
	for _, n := range s.connectErr {
		connectFailed += n
	}
	for name, o := range s.ops {
		if name == OpMQTTConnect {
			continue
		}
		ops += len(o.lat)
		failed += o.failed
	}
	return
}

// latency computes exact nearest-rank percentiles of lat (sorted in
// place).
func latency(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		return ms(lat[max(i, 0)])
	}
	return Latency{P50: rank(0.50), P99: rank(0.99), P999: rank(0.999), Max: ms(lat[len(lat)-1]), Mean: ms(sum / time.Duration(len(lat)))}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// finish fills the report from the run's statistics.
func (rep *Report) finish(o *Options, r *run, elapsed time.Duration) {
	s := r.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	rep.Scenario, rep.Devices, rep.Rate, rep.DurationSeconds = o.Scenario, o.Devices, o.Rate, o.Duration.Seconds()
	c := &rep.Connect
	c.Attempted = o.Devices
	c.Connected = len(s.connectLat)
	c.Failed = c.Attempted - c.Connected
	if c.Seconds > 0 {
		c.PerSecond = round(float64(c.Connected) / c.Seconds)
	}
	c.Seconds = round(c.Seconds)
	c.Latency = latency(s.connectLat)
	if len(s.connectErr) > 0 {
		c.Errors = maps.Clone(s.connectErr)
	}
	names := append(slices.Clone(o.Scenario), OpMQTTConnect)
	for _, name := range names {
		os, ok := s.ops[name]
		if !ok {
			continue
		}
		op := OpReport{Op: name, Count: len(os.lat), Failed: os.failed, Latency: latency(os.lat)}
		op.OK = op.Count - op.Failed
		if span := os.last.Sub(os.first).Seconds(); span > 0 {
			op.PerSecond = round(float64(op.Count) / span)
		}
		if len(os.errs) > 0 {
			op.Errors = maps.Clone(os.errs)
		}
		rep.Ops = append(rep.Ops, op)
	}
	rep.LoadSeconds = round(rep.LoadSeconds)
	rep.Cloud.finish(o.Metrics, c.Connected)
	rep.ElapsedSeconds = round(elapsed.Seconds())
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

// WriteText writes the report as a human-readable table.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	mode := "burst (every device once, at once)"
	if r.Rate > 0 {
		mode = fmt.Sprintf("%g iterations/s for %gs", r.Rate, r.DurationSeconds)
	}
	fmt.Fprintf(tw, "scenario\t%s, %s\n", strings.Join(r.Scenario, "+"), mode)
	if r.Rate > 0 {
		fmt.Fprintf(tw, "iterations\t%d due, %d ran (%d late), %d missed; %g/s achieved\n",
			r.IterationsDue, r.Iterations, r.IterationsLate, r.IterationsMissed, r.RateAchieved)
	}
	c := r.Connect
	fmt.Fprintf(tw, "connect\t%d/%d devices in %.2fs (%.0f/s), %d failed, p50 %.0f ms, p99 %.0f ms\n",
		c.Connected, c.Attempted, c.Seconds, c.PerSecond, c.Failed, c.Latency.P50, c.Latency.P99)
	writeErrors(tw, c.Errors)
	fmt.Fprintf(tw, "\n")
	fmt.Fprintf(tw, "OP\tCOUNT\tOK\tFAILED\tPER SEC\tP50 MS\tP99 MS\tP999 MS\tMAX MS\n")
	for _, o := range r.Ops {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\n", o.Op, o.Count, o.OK, o.Failed, o.PerSecond,
			o.Latency.P50, o.Latency.P99, o.Latency.P999, o.Latency.Max)
	}
	for _, o := range r.Ops {
		if len(o.Errors) > 0 {
			fmt.Fprintf(tw, "\nerrors (%s)\n", o.Op)
			writeErrors(tw, o.Errors)
		}
	}
	if r.Cloud.Endpoint != "" {
		fmt.Fprintf(tw, "\ncloud\t%s\n", r.Cloud.Endpoint)
		r.Cloud.writeText(tw)
	}
	fmt.Fprintf(tw, "\nelapsed\t%.2fs (load %.2fs)\n", r.ElapsedSeconds, r.LoadSeconds)
	return tw.Flush()
}

func writeErrors(w io.Writer, errs map[string]int) {
	keys := slices.Collect(maps.Keys(errs))
	sort.Slice(keys, func(i, j int) bool {
		if errs[keys[i]] != errs[keys[j]] {
			return errs[keys[i]] > errs[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "  %d\t%s\n", errs[k], k)
	}
}
