package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Stress shape: publishers × messages QoS 1 publishes, each publisher
// sending from workers goroutines at once, all to one MQTT 5 subscriber.
const (
	stressPublishers = 8
	stressMessages   = 500
	stressWorkers    = 4
	// stressReceiveMaximum is the Receive Maximum the subscriber announces.
	// Any value gives mochi's server a positive send quota for the client,
	// which is what leads it into Inflight.NextImmediate.
	stressReceiveMaximum = 100
)

// TestStressQoS1PublishersToV5Subscriber is the acceptance test of the
// embedded broker: 8 concurrent QoS 1 publishers × 500 messages to one MQTT 5
// subscriber; every message must arrive (QoS 1 may duplicate: distinct
// payloads are counted). A deadlock fails the test with a goroutine dump
// instead of hanging it.
func TestStressQoS1PublishersToV5Subscriber(t *testing.T) {
	b := startBroker(t, Options{})
	res, err := stress(b.Addr().String(), 60*time.Second, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d×%d QoS 1 messages (%d workers each) to one v5 subscriber: %d distinct received, %d duplicates, in %v (%.0f msg/s)",
		stressPublishers, stressMessages, stressWorkers, res.distinct, res.duplicates, res.elapsed.Round(time.Millisecond),
		float64(res.distinct)/res.elapsed.Seconds())
}

// TestStressUnguardedMochiDeadlocks shows what the guard is for: with the
// guard off, the same stress test hangs mochi-mqtt v2.7.9, in one of two ways:
//
//   - deadlock: the subscriber's read loop blocks in Inflight.NextImmediate
//     (second RLock) behind a publisher waiting in Inflight.Set (Lock);
//   - stall: the broker is idle but messages for the subscriber stay parked
//     in its inflight map (Expiry -1), its send quota used up, because every
//     message NextImmediate releases is deleted from the map when sent, so
//     its PUBACK finds nothing and never gives the quota back.
//
// It is opt-in (MVNET_BROKER_UNGUARDED=1) because it leaks the hung broker's
// goroutines; it passes when it has seen either.
func TestStressUnguardedMochiDeadlocks(t *testing.T) {
	if os.Getenv("MVNET_BROKER_UNGUARDED") == "" {
		t.Skip("set MVNET_BROKER_UNGUARDED=1 to run the stress test against mochi without the guard")
	}
	const rounds = 10
	for round := 1; round <= rounds; round++ {
		b := New(Options{})
		b.noInflightGuard = true
		if err := b.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, err := stress(b.Addr().String(), 60*time.Second, 5*time.Second)
		var dl *deadlockError
		if errors.As(err, &dl) {
			if strings.Contains(dl.dump, "(*Inflight).NextImmediate") && strings.Contains(dl.dump, "(*RWMutex).Lock") {
				t.Logf("round %d: DEADLOCK after %v with %d/%d messages delivered: NextImmediate waits for a read lock behind Inflight.Set\n%s",
					round, dl.after.Round(time.Millisecond), dl.distinct, stressPublishers*stressMessages, dl.dump)
				return // broker left hanging on purpose: Close would wait forever
			}
			cl, ok := b.server.Clients.Get("stress-sub")
			if !ok {
				t.Fatalf("round %d: stalled and the subscriber is gone:\n%s", round, dl.dump)
			}
			parked := len(cl.State.Inflight.GetAll(true))
			if parked == 0 {
				t.Fatalf("round %d: stalled for another reason:\n%s", round, dl.dump)
			}
			t.Logf("round %d: STALL after %v with %d/%d messages delivered: broker idle, %d messages parked for the subscriber (send quota leaked)",
				round, dl.after.Round(time.Millisecond), dl.distinct, stressPublishers*stressMessages, parked)
			b.Close()
			return
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		t.Logf("round %d: no deadlock (%v)", round, res.elapsed.Round(time.Millisecond))
		b.Close()
	}
	t.Skipf("no deadlock in %d rounds", rounds)
}

type stressResult struct {
	distinct, duplicates int
	elapsed              time.Duration
}

type deadlockError struct {
	after    time.Duration
	distinct int
	dump     string // goroutines in the broker
	reason   string
}

func (e *deadlockError) Error() string {
	return fmt.Sprintf("%s after %v with %d/%d messages delivered: broker deadlocked?\nbroker goroutines:\n%s",
		e.reason, e.after.Round(time.Millisecond), e.distinct, stressPublishers*stressMessages, e.dump)
}

// stress runs the publishers and the subscriber against the broker at addr.
// It gives up with a *deadlockError after deadline in all, or when no new
// message has arrived for stall.
func stress(addr string, deadline, stall time.Duration) (stressResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	total := stressPublishers * stressMessages

	var (
		mu       sync.Mutex
		seen     = make(map[string]bool, total)
		dups     int
		bad      []string
		progress atomic.Int64 // distinct messages, for the watchdog
		allIn    = make(chan struct{})
	)
	onPublish := func(pr paho.PublishReceived) (bool, error) {
		p := string(pr.Packet.Payload)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case !strings.HasPrefix(p, "stress/"):
			bad = append(bad, p)
		case seen[p]:
			dups++
		default:
			seen[p] = true
			if progress.Add(1) == int64(total) {
				close(allIn)
			}
		}
		return true, nil
	}
	rm := uint16(stressReceiveMaximum)
	sub, err := dialPaho(ctx, addr, &paho.Connect{
		ClientID:   "stress-sub",
		KeepAlive:  30,
		CleanStart: true,
		Properties: &paho.ConnectProperties{ReceiveMaximum: &rm},
	}, onPublish)
	if err != nil {
		return stressResult{}, err
	}
	defer sub.Disconnect(&paho.Disconnect{})
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "stress/#", QoS: 1}}}); err != nil {
		return stressResult{}, fmt.Errorf("subscribe: %w", err)
	}

	pubs := make([]*paho.Client, stressPublishers)
	for i := range pubs {
		c, err := dialPaho(ctx, addr, &paho.Connect{ClientID: fmt.Sprintf("stress-pub-%d", i), KeepAlive: 30, CleanStart: true}, nil)
		if err != nil {
			return stressResult{}, err
		}
		defer c.Disconnect(&paho.Disconnect{})
		pubs[i] = c
	}

	start := time.Now()
	pubErr := make(chan error, stressPublishers*stressWorkers)
	var wg sync.WaitGroup
	for i, c := range pubs {
		for w := range stressWorkers {
			wg.Go(func() {
				for j := w; j < stressMessages; j += stressWorkers {
					_, err := c.Publish(ctx, &paho.Publish{
						Topic:   fmt.Sprintf("stress/%d", i),
						QoS:     1,
						Payload: fmt.Appendf(nil, "stress/%d/%d", i, j),
					})
					if err != nil {
						if ctx.Err() == nil {
							pubErr <- fmt.Errorf("publisher %d message %d: %w", i, j, err)
						}
						return
					}
				}
			})
		}
	}
	published := make(chan struct{})
	go func() { wg.Wait(); close(published) }()

	hard := time.NewTimer(deadline)
	defer hard.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := int64(-1), time.Now()
	fail := func(reason string) error {
		e := &deadlockError{after: time.Since(start), distinct: int(progress.Load()), reason: reason, dump: brokerGoroutines()}
		cancel()
		return e
	}
	for {
		select {
		case <-allIn:
			elapsed := time.Since(start)
			select {
			case <-published:
			case <-time.After(stall):
				return stressResult{}, fail("all messages delivered but publishers still waiting for PUBACKs")
			}
			select {
			case err := <-pubErr:
				return stressResult{}, err
			default:
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bad) > 0 {
				return stressResult{}, fmt.Errorf("unexpected payloads: %q", bad)
			}
			return stressResult{distinct: len(seen), duplicates: dups, elapsed: elapsed}, nil
		case err := <-pubErr:
			return stressResult{}, err
		case <-hard.C:
			return stressResult{}, fail(fmt.Sprintf("deadline %v passed", deadline))
		case <-tick.C:
			if n := progress.Load(); n != last {
				last, lastChange = n, time.Now()
			} else if time.Since(lastChange) > stall {
				return stressResult{}, fail(fmt.Sprintf("no message for %v", stall))
			}
		}
	}
}

// dialPaho connects an MQTT 5 client (eclipse/paho.golang) to addr.
func dialPaho(ctx context.Context, addr string, cp *paho.Connect, onPublish func(paho.PublishReceived) (bool, error)) (*paho.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	cfg := paho.ClientConfig{Conn: pahoConn(conn), PacketTimeout: 30 * time.Second}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onPublish}
	}
	c := paho.NewClient(cfg)
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect %s: %w", cp.ClientID, err)
	}
	if ca.ReasonCode != 0 {
		conn.Close()
		return nil, fmt.Errorf("connect %s: reason code %#x", cp.ClientID, ca.ReasonCode)
	}
	return c, nil
}

// brokerGoroutines returns the stacks of the goroutines running mochi-mqtt
// code (the whole dump would be mostly paho clients), and how many there are
// in all.
func brokerGoroutines() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := bytes.Split(buf, []byte("\n\n"))
	var out []string
	for _, g := range all {
		if bytes.Contains(g, []byte("mochi-mqtt/server")) {
			out = append(out, string(g))
		}
	}
	return fmt.Sprintf("%d of %d goroutines run mochi-mqtt code:\n\n%s", len(out), len(all), strings.Join(out, "\n\n"))
}
