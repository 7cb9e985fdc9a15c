package cloud_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

var (
	stampedeDevicesFlag = flag.Int("stampede.devices", 500, "BenchmarkStampede: devices connecting at once")
	stampedeTimeoutFlag = flag.Duration("stampede.timeout", time.Second, "BenchmarkStampede: the cloud's handshake timeout")
	stampedeLatencyFlag = flag.Duration("stampede.latency", 0, "BenchmarkStampede: delay before each device write, the network's round trip as the cloud sees it (loopback has none)")
	stampedeMaxFlag     = flag.String("stampede.max", "", "BenchmarkStampede: MaxHandshakes values to measure besides the default, comma-separated (e.g. 2,4,8,16)")
)

// BenchmarkStampede measures the reconnect stampede (issue 8: 5,000
// devices dialling at once took 85 s to connect against 8.5 s paced): every
// iteration connects stampedeDevices devices over real TLS (handshake,
// HELLO, WELCOME) twice — all at once, and paced (two at a time) — and
// reports the ratio at-once/paced, for the default handshake cap and with
// the cap lifted (the old behaviour). The handshake timeout is scaled down
// with the fleet (500 devices, 1 s, as 5,000 and 10 s) so that an uncapped
// stampede makes handshakes time out as it did at full scale; devices that
// fail redial after 10–50 ms.
//
//	go test ./cloud -run '^$' -bench Stampede -benchtime 3x
//
// -stampede.max adds caps to measure besides the default ("capped"), and
// -stampede.latency gives the devices a network round trip (every device
// write is delayed by it), as real devices have and loopback has not:
//
//	go test ./cloud -run '^$' -bench Stampede -benchtime 2x -args -stampede.max 1,2,4,8,16,32,64
//	go test ./cloud -run '^$' -bench Stampede -benchtime 1x -args -stampede.devices 200 -stampede.latency 100ms -stampede.max 2,8,32,128
//
// At the scale (5,000 devices, 10 s; about a minute per run):
//
//	go test ./cloud -run '^$' -bench Stampede -benchtime 1x -args -stampede.devices 5000 -stampede.timeout 10s
func BenchmarkStampede(b *testing.B) {
	stampedeDevices := *stampedeDevicesFlag
	type cap struct {
		name string
		max  int
	}
	caps := []cap{{"capped", 0}}
	if *stampedeMaxFlag != "" {
		for _, f := range strings.Split(*stampedeMaxFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("-stampede.max: %q is not a positive number", f)
			}
			caps = append(caps, cap{fmt.Sprintf("max=%d", n), n})
		}
	}
	for _, bc := range append(caps, cap{"uncapped", 100 * stampedeDevices}) {
		b.Run(bc.name, func(b *testing.B) {
			s, ca, addr := tlsCloudWith(b, cloud.Options{MaxHandshakes: bc.max, HandshakeTimeout: *stampedeTimeoutFlag})
			cfgs := deviceConfigs(b, ca, stampedeDevices, addr)
			var atOnce, paced time.Duration
			var redials int
			b.ResetTimer()
			for range b.N {
				d, r := stampede(b, s, addr, cfgs, len(cfgs))
				atOnce += d
				redials += r
				d, _ = stampede(b, s, addr, cfgs, 2)
				paced += d
			}
			b.ReportMetric(atOnce.Seconds()/float64(b.N), "s-at-once")
			b.ReportMetric(paced.Seconds()/float64(b.N), "s-paced")
			b.ReportMetric(float64(atOnce)/float64(paced), "at-once/paced")
			b.ReportMetric(float64(redials)/float64(b.N), "redials")
		})
	}
}

func deviceConfigs(b *testing.B, ca *devca.CA, n int, addr string) []*tls.Config {
	cfgs := make([]*tls.Config, n)
	for i := range cfgs {
		cfg, err := bundleFor(b, ca, fakedev.ID(i+1), addr).TLSConfig()
		if err != nil {
			b.Fatal(err)
		}
		cfgs[i] = cfg
	}
	return cfgs
}

// stampede connects every device, workers at a time, and returns how long
// it took until all had their WELCOME and how many redials it cost; then it
// closes the links and waits for the cloud to see them go.
func stampede(b *testing.B, s *cloud.Server, addr string, cfgs []*tls.Config, workers int) (time.Duration, int) {
	conns := make([]net.Conn, len(cfgs))
	next := make(chan int, len(cfgs))
	for i := range cfgs {
		next <- i
	}
	close(next)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		redials int
		failed  error
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				deadline := time.Now().Add(time.Minute)
				for {
					c, err := connectOnce(cfgs[i], i+1, addr)
					if err == nil {
						conns[i] = c
						break
					}
					mu.Lock()
					redials++
					if time.Now().After(deadline) {
						failed = err
					}
					mu.Unlock()
					if failed != nil {
						return
					}
					time.Sleep(10*time.Millisecond + rand.N(40*time.Millisecond)) // a device's redial delay
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	if failed != nil {
		b.Fatalf("a device could not connect within a minute: %v", failed)
	}
	poll.Within(b, time.Minute, "every device disconnected after closing", func() bool { return len(s.Devices()) == 0 })
	b.StartTimer()
	return took, redials
}

// connectOnce dials, says HELLO as device n and waits for WELCOME.
func connectOnce(cfg *tls.Config, n int, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if d := *stampedeLatencyFlag; d > 0 {
		raw = &slowConn{Conn: raw, delay: d}
	}
	c := tls.Client(raw, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	hello, _ := link.AppendFrame(nil, &link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(n)})
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(hello); err != nil {
		c.Close()
		return nil, err
	}
	f, err := link.ReadFrame(bufio.NewReaderSize(c, 64))
	if err == nil && f.Type != link.FrameWelcome {
		err = fmt.Errorf("got %v, want WELCOME", f.Type)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// slowConn delays every write: a device at the far end of a network whose
// round trip is delay, as the cloud sees it (each device flight arrives
// delay after the cloud's flight it answers).
type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c *slowConn) Write(p []byte) (int, error) {
	time.Sleep(c.delay) // the network's latency, not a wait for an event
	return c.Conn.Write(p)
}
