package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The cloud's metrics the report uses: the Go client's process and Go
// collectors, and the node's own gauge of connected devices (if it has
// one).
const (
	metricRSS        = "process_resident_memory_bytes"
	metricGoroutines = "go_goroutines"
	metricConnected  = "mvnet_devices_connected"
)

// scrapeTimeout bounds one read of the metrics endpoint.
const scrapeTimeout = 10 * time.Second

// Sample is one read of the cloud's metrics. A metric the endpoint does
// not serve is nil.
type Sample struct {
	RSSBytes         *float64 `json:"rss_bytes,omitempty"`
	Goroutines       *float64 `json:"goroutines,omitempty"`
	DevicesConnected *float64 `json:"devices_connected,omitempty"`
	Error            string   `json:"error,omitempty"`
}

// CloudReport is the cloud's side, from its metrics endpoint: before the
// devices connected, once they were connected and idle, and at the end;
// per device is the growth from before to idle over the devices connected.
type CloudReport struct {
	Endpoint            string   `json:"endpoint,omitempty"`
	Before              *Sample  `json:"before,omitempty"`
	Idle                *Sample  `json:"idle,omitempty"`
	After               *Sample  `json:"after,omitempty"`
	RSSPerDeviceBytes   *float64 `json:"rss_per_device_bytes,omitempty"`
	GoroutinesPerDevice *float64 `json:"goroutines_per_device,omitempty"`
}

// scrape reads the metrics endpoint, if there is one.
func (r *run) scrape(ctx context.Context) *Sample {
	if r.o.Metrics == "" {
		return nil
	}
	s, err := Scrape(ctx, r.o.Metrics)
	if err != nil {
		return &Sample{Error: err.Error()}
	}
	return s
}

// scrapeIdle reads the metrics once the devices are connected: when the
// endpoint counts connected devices, once it counts them all (at most
// scrapeTimeout), so that the sample holds every device's link.
func (r *run) scrapeIdle(ctx context.Context) *Sample {
	want := float64(r.connectedCount())
	deadline := time.Now().Add(scrapeTimeout)
	for {
		s := r.scrape(ctx)
		if s == nil || s.DevicesConnected == nil || *s.DevicesConnected >= want || !time.Now().Before(deadline) {
			return s
		}
		if !sleepUntil(ctx, time.Now().Add(100*time.Millisecond)) {
			return s
		}
	}
}

// Scrape reads the Prometheus endpoint at url (text or protobuf
// exposition, whichever it answers).
func Scrape(ctx context.Context, url string) (*Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("--metrics %q: %w", url, err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s answered %s", url, resp.Status)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	s := &Sample{}
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			return nil, fmt.Errorf("metrics: %s: %w", url, err)
		}
		switch mf.GetName() {
		case metricRSS:
			s.RSSBytes = value(&mf)
		case metricGoroutines:
			s.Goroutines = value(&mf)
		case metricConnected:
			s.DevicesConnected = value(&mf)
		}
	}
}

// value is the sum of a gauge's (or untyped metric's) series.
func value(mf *dto.MetricFamily) *float64 {
	var v float64
	for _, m := range mf.GetMetric() {
		switch {
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Untyped != nil:
			v += m.GetUntyped().GetValue()
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		}
	}
	return &v
}

// finish computes the per-device figures.
func (c *CloudReport) finish(endpoint string, connected int) {
	c.Endpoint = endpoint
	if c.Before == nil || c.Idle == nil || connected == 0 {
		return
	}
	per := func(before, idle *float64) *float64 {
		if before == nil || idle == nil {
			return nil
		}
		v := round((*idle - *before) / float64(connected))
		return &v
	}
	c.RSSPerDeviceBytes = per(c.Before.RSSBytes, c.Idle.RSSBytes)
	c.GoroutinesPerDevice = per(c.Before.Goroutines, c.Idle.Goroutines)
}

func (c *CloudReport) writeText(tw *tabwriter.Writer) {
	row := func(name string, s *Sample) {
		if s == nil {
			return
		}
		if s.Error != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", name, s.Error)
			return
		}
		fmt.Fprintf(tw, "  %s\tRSS %s, goroutines %s, devices connected %s\n", name,
			fmtOpt(s.RSSBytes, 1<<20, "%.1f MiB"), fmtOpt(s.Goroutines, 1, "%.0f"), fmtOpt(s.DevicesConnected, 1, "%.0f"))
	}
	row("before", c.Before)
	row("idle", c.Idle)
	row("after", c.After)
	fmt.Fprintf(tw, "  per device\tRSS %s, goroutines %s\n", fmtOpt(c.RSSPerDeviceBytes, 1<<10, "%.1f KiB"), fmtOpt(c.GoroutinesPerDevice, 1, "%.2f"))
}

func fmtOpt(v *float64, unit float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v/unit)
}
