package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
)

// Percentiles are exact nearest-rank ones, whatever the samples' order.
func TestLatencyPercentiles(t *testing.T) {
	lat := make([]time.Duration, 1000)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.Shuffle(len(lat), func(i, j int) { lat[i], lat[j] = lat[j], lat[i] })
	got := latency(lat)
	want := Latency{P50: 500, P99: 990, P999: 999, Max: 1000, Mean: 500.5}
	if got != want {
		t.Fatalf("latency of 1..1000 ms = %+v, want %+v", got, want)
	}
	if got := latency([]time.Duration{7 * time.Millisecond}); got.P50 != 7 || got.P999 != 7 {
		t.Fatalf("one sample: %+v", got)
	}
	if got := latency(nil); got != (Latency{}) {
		t.Fatalf("no samples: %+v", got)
	}
}

// Failures are keyed by their status name.
func TestErrKey(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{keyed("HTTP 503"), "HTTP 503"},
		{fmt.Errorf("mvOpenChannel: %s", abi.StatusRateLimited), "mvOpenChannel: MV_STATUS_RATELIMITED"},
		{fmt.Errorf("mvSendHttpRequest: %s %v", abi.StatusChannelClosed, nil), "mvSendHttpRequest: MV_STATUS_CHANNELCLOSED"},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), "timeout"},
		{context.Canceled, "canceled"},
		{statusErr("mvServerLog", abi.StatusLoggingDisabledByServer, nil), "mvServerLog: MV_STATUS_LOGGINGDISABLEDBYSERVER"},
		{errors.New("something else"), "something else"},
	} {
		if got := errKey(c.err); got != c.want {
			t.Errorf("errKey(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// On a terminal the progress line carries a bar and is rewritten in
// place; elsewhere it is a plain line.
func TestProgressLine(t *testing.T) {
	var term, plain strings.Builder
	for _, c := range []struct {
		w        *strings.Builder
		terminal bool
	}{{&term, true}, {&plain, false}} {
		r := newRun(&Options{Devices: 4, Bundles: make([]*device.Bundle, 4), Scenario: []string{OpLogs}, Progress: NewProgress(c.w, c.terminal)})
		r.stats.connected(time.Millisecond)
		r.stats.connectFailed("no")
		r.progress.phase("connect")
		r.progress.stop()
	}
	if !strings.Contains(term.String(), "\r\033[K[##########----------]  50% ") || !strings.HasSuffix(term.String(), "\n") {
		t.Fatalf("terminal progress: %q", term.String())
	}
	if strings.Contains(plain.String(), "\r") || strings.Contains(plain.String(), "[#") ||
		!strings.Contains(plain.String(), "connect devices 1/4 connected, 1 failed") {
		t.Fatalf("plain progress: %q", plain.String())
	}
}
