package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
)

// member is one device of the fleet.
type member struct {
	b     *device.Bundle
	index int

	d    *device.Device
	n    *device.Net
	up   atomic.Bool
	seq  atomic.Uint64 // log lines and MQTT publishes sent
	mqtt *mqttSession  // nil without the mqtt operation or if its connect failed
	// logsSetup is why mvServerLoggingInit failed ("" if it did not).
	logsSetup string
}

func (m *member) connected() bool { return m.up.Load() }

// connect boots the device, waits for its network and sets up what the
// scenario needs.
func (m *member) connect(ctx context.Context, r *run) {
	start := time.Now()
	d, err := newDevice(m.b)
	if err != nil {
		r.stats.connectFailed(fmt.Sprintf("device: %v", err))
		return
	}
	m.d = d
	cctx, cancel := context.WithTimeout(ctx, r.o.ConnectTimeout)
	defer cancel()
	n, err := d.Connect(cctx, irq)
	if err != nil {
		why := d.LinkError()
		if why == "" {
			why = err.Error()
		}
		r.stats.connectFailed(why)
		// Not counted as connected, so it must not keep redialling and
		// connect later, holding a link (and cloud memory) the report
		// does not count.
		_ = d.Close()
		m.d = nil
		return
	}
	m.n = n
	r.stats.connected(time.Since(start))
	m.up.Store(true)
	if r.o.has(OpLogs) {
		m.setupLogs()
	}
	if r.o.has(OpMQTT) {
		t0 := time.Now()
		octx, cancel := context.WithTimeout(ctx, r.o.OpTimeout)
		defer cancel()
		s, err := m.mqttConnect(octx, r.o)
		r.stats.record(OpMQTTConnect, time.Since(t0), errKey(err))
		m.mqtt = s
	}
}

// setupLogs calls mvServerLoggingInit. A failure is not recorded here:
// every logs operation of the device then fails with it, once each
// (recording it here too would count it twice).
func (m *member) setupLogs() {
	if _, st, err := m.d.ServerLoggingInit(logBufSize); err != nil || st != abi.StatusOkay {
		m.logsSetup = statusKey("mvServerLoggingInit", st, err)
	}
}

// iterate runs one iteration of the scenario, due at due: its operations
// at once. Each operation's latency counts from due (zero: from now), so
// an iteration that starts late because its device fell behind the rate
// counts the wait too (response time, not service time).
func (m *member) iterate(ctx context.Context, r *run, due time.Time) {
	if due.IsZero() {
		due = time.Now()
	}
	var wg sync.WaitGroup
	for _, op := range r.o.Scenario {
		wg.Add(1)
		go func() {
			defer wg.Done()
			octx, cancel := context.WithTimeout(ctx, r.o.OpTimeout)
			defer cancel()
			err := m.do(octx, r.o, op)
			r.stats.record(op, time.Since(due), errKey(err))
		}()
	}
	wg.Wait()
}

// do runs one operation; nil means it succeeded.
func (m *member) do(ctx context.Context, o *Options, op string) error {
	switch op {
	case OpHTTP:
		resp, err := m.d.HTTP(ctx, m.n, device.HTTPRequest{Method: "GET", URL: o.URL, TimeoutMS: httpTimeoutMS(o.OpTimeout)}, httpRxSize, httpTxSize)
		if err != nil {
			return err
		}
		if resp.Result != abi.HTTPResultOK {
			return keyed(resp.Result.String())
		}
		if resp.StatusCode >= 400 {
			return keyed("HTTP " + strconv.Itoa(int(resp.StatusCode)))
		}
		return nil
	case OpLogs:
		if m.logsSetup != "" {
			return keyed(m.logsSetup)
		}
		line := fmt.Sprintf("mvnet fleet %s line %d", m.b.DeviceSid, m.seq.Add(1))
		st, err := m.d.ServerLog(line)
		if err := statusErr("mvServerLog", st, err); err != nil {
			return err
		}
		return m.logAcked(ctx)
	case OpConfig:
		res, items, err := m.d.FetchConfig(ctx, m.n, []device.ConfigKey{{
			Scope: abi.ConfigKeyFetchScopeAccount, Store: abi.ConfigKeyFetchStoreConfig, Key: o.ConfigKey,
		}}, cfgRxSize, cfgTxSize)
		if err != nil {
			return err
		}
		if res != abi.ConfigFetchResultOK {
			return keyed(res.String())
		}
		if len(items) != 1 || items[0].Result != abi.ConfigKeyFetchResultOK {
			if len(items) == 1 {
				return keyed(items[0].Result.String())
			}
			return keyed(fmt.Sprintf("%d items for 1 key", len(items)))
		}
		return nil
	case OpMQTT:
		if m.mqtt == nil {
			return keyed("no MQTT session (its connect failed)")
		}
		return m.mqtt.publish(ctx, "mvnet-fleet/"+m.b.DeviceSid, []byte(strconv.FormatUint(m.seq.Add(1), 10)))
	}
	return fmt.Errorf("unknown operation %q", op)
}

// errNotAcked is the logs operation's failure when the cloud has not
// acknowledged its line within the operation's timeout.
var errNotAcked = keyed("not acknowledged by the cloud")

// logAcked waits until the cloud has acknowledged (LOGACK) every line the
// device logged, which is when the line just logged is: a device runs one
// logs operation at a time (iterations are sequential per device, with
// one logs operation each), and the kernel sends lines in order and the
// cloud acknowledges them cumulatively (kernel.WaitLogsAcked).
func (m *member) logAcked(ctx context.Context) error {
	if m.d.Kernel.WaitLogsAcked(ctx) != nil {
		return errNotAcked
	}
	return nil
}

// httpTimeoutMS is the http operation's request timeout: the operation's
// own, within what a request may ask for (spec/abi.md: MvHttpRequest
// timeout_ms outside abi.MinHTTPTimeoutMS–abi.MaxHTTPTimeoutMS is
// INVALIDTIMEOUT). A shorter operation timeout ends the wait sooner.
func httpTimeoutMS(op time.Duration) uint32 {
	return uint32(max(min(op.Milliseconds(), int64(abi.MaxHTTPTimeoutMS)), int64(abi.MinHTTPTimeoutMS)))
}

// keyedError is a failure whose text is its key in the report.
type keyedError string

func (e keyedError) Error() string { return string(e) }

func keyed(s string) error { return keyedError(s) }

// statusErr is nil for OKAY, else the failure "call: STATUS".
func statusErr(call string, st abi.Status, err error) error {
	if err == nil && st == abi.StatusOkay {
		return nil
	}
	return keyed(statusKey(call, st, err))
}

func statusKey(call string, st abi.Status, err error) string {
	if err != nil {
		return call + ": " + err.Error()
	}
	return call + ": " + st.String()
}

// errKey is the report's name for an operation's failure: its status
// name where it has one ("MV_HTTPRESULT_REQUESTFAILED", "HTTP 503",
// "mvOpenChannel: MV_STATUS_RATELIMITED"), "timeout" for an operation that
// ran out of time; "" for success.
func errKey(err error) string {
	if err == nil {
		return ""
	}
	var k keyedError
	if errors.As(err, &k) {
		return string(k)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	// The device API's errors read "mvCall: MV_STATUS_X …": keep the call
	// and the status.
	s := err.Error()
	if f := strings.Fields(s); len(f) >= 2 && strings.HasSuffix(f[0], ":") && strings.HasPrefix(f[1], "MV_") {
		return f[0] + " " + f[1]
	}
	const max = 100
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// splitBroker checks host:port.
func splitBroker(s string) (host string, port uint16, err error) {
	host, ps, err := net.SplitHostPort(s)
	p, perr := strconv.ParseUint(ps, 10, 16)
	if err != nil || host == "" || perr != nil || p == 0 {
		return "", 0, fmt.Errorf("--broker %q: want host:port", s)
	}
	return host, uint16(p), nil
}
