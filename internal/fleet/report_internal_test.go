package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
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
