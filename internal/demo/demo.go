// Package demo runs mvnet's demonstration: one process holding a local
// HTTPS server (with a throwaway CA), an embedded MQTT broker, an embedded
// cloud that trusts and may reach both, and an emulated device that performs
// the whole Microvisor HTTP flow and then the MQTT flow (connect, subscribe,
// publish to itself, receive, acknowledge, unsubscribe, disconnect) while a
// transcript of every system call, status and notification is printed.
package demo

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/broker"
	"github.com/mvnet/mvnet/internal/pki"
)

// Options choose what the demo fetches.
type Options struct {
	// URL to fetch; empty means the demo's own local server.
	URL       string
	Method    string
	Headers   []string
	Body      string
	TimeoutMS uint32
	RxSize    uint32
	TxSize    uint32
	// Outbound policy for a given URL.
	Resolve []string
	RootCAs []*x509.Certificate
	Allow   []netip.Prefix
	// Log, if set, receives the kernel's and the cloud's diagnostics.
	Log *slog.Logger
	// SkipMQTT leaves out the MQTT part (embedded broker).
	SkipMQTT bool
	// Dial, when set, joins a running cloud (mvnet demo --cloud
	// bundle.json) instead of starting an embedded one, as device
	// DeviceID. The demo then starts none of its local servers, which that
	// cloud would neither reach nor trust: URL is required, the outbound
	// policy (Resolve, RootCAs, Allow) is that cloud's, and the MQTT part
	// is left out.
	Dial     func(ctx context.Context) (net.Conn, error)
	DeviceID string
	// CloudName describes the joined cloud in the transcript.
	CloudName string
}

// DemoHost is the name the local server is reached by; the cloud maps it to
// the server's loopback address (like curl --resolve).
const DemoHost = "demo.mvnet.test"

// IRQ numbers of the STM32U585 used by Microvisor's samples.
const (
	irqTIM8BRK = 51 // TIM8_BRK_IRQn
	tagNetwork = 0x0001
	tagHTTP    = 0x0002
)

// Run runs the demo, writing the transcript to out. It returns an error if
// any step fails.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if o.Method == "" {
		o.Method = "GET"
	}
	if o.TimeoutMS == 0 {
		o.TimeoutMS = abi.MaxHTTPTimeoutMS
	}
	if o.RxSize == 0 {
		o.RxSize = 4096
	}
	if o.TxSize == 0 {
		o.TxSize = 1024
	}
	p := &printer{w: out, start: time.Now()}
	if o.Dial != nil {
		return runJoined(ctx, o, p)
	}
	hopts := httpexec.Options{Resolve: o.Resolve, RootCAs: o.RootCAs, AllowPrefixes: o.Allow}
	if o.URL == "" {
		stop, url, ca, resolve, err := startLocalServer()
		if err != nil {
			return err
		}
		defer stop()
		o.URL = url
		hopts.RootCAs = append(hopts.RootCAs, ca)
		hopts.Resolve = append(hopts.Resolve, resolve)
		hopts.AllowPrefixes = append(hopts.AllowPrefixes, netip.MustParsePrefix("127.0.0.0/8"))
		p.say("local HTTPS server  %s  (throwaway CA, reached via --resolve %s)", url, resolve)
	}
	var brokerAddr *net.TCPAddr
	if !o.SkipMQTT {
		b := broker.New(broker.Options{Logger: o.Log})
		if err := b.Start(ctx); err != nil {
			return fmt.Errorf("embedded MQTT broker: %w", err)
		}
		defer b.Close()
		brokerAddr = b.Addr().(*net.TCPAddr)
		// The cloud may reach exactly the broker's loopback address.
		hopts.AllowPrefixes = append(hopts.AllowPrefixes, netip.PrefixFrom(netip.MustParseAddr(brokerAddr.IP.String()), 32))
		p.say("embedded MQTT broker mqtt://%s  (plain TCP, opted in as --mqtt-plaintext does)", brokerAddr)
	}
	st, closeStore, err := openDemoStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	p.say("cloud store         embedded NATS JetStream (temporary)")
	// The embedded broker speaks plain TCP: opt in (a connect without
	// tls_credentials is TLS by default, docs/mqtt.md).
	srv, err := cloud.New(cloud.Options{HTTP: hopts, MQTT: cloud.MQTTOptions{Plaintext: true}, Logger: o.Log, Config: st, Logs: st})
	if err != nil {
		return fmt.Errorf("cloud: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("cloud: %w", err)
	}
	defer srv.Shutdown(context.Background())
	p.say("embedded cloud      started")

	d, err := device.New(device.Options{Dial: srv.Dial, Trace: p.trace, Logger: o.Log})
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	defer d.Close()
	p.say("device              %s booted", d.ID())
	p.say("")
	if err := seedDemoStore(ctx, st, d.ID()); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := flow(ctx, d, o, p); err != nil {
		return err
	}
	if err := configLogFlow(ctx, d, st, p); err != nil {
		return err
	}
	if brokerAddr == nil {
		return nil
	}
	return mqttFlow(ctx, d, brokerAddr, p)
}

// runJoined runs the HTTP flow as a device of a running cloud.
func runJoined(ctx context.Context, o Options, p *printer) error {
	if o.URL == "" {
		return errors.New("demo: joining a running cloud needs a URL to fetch (the demo's local server is unknown to that cloud)")
	}
	p.say("cloud               %s (joined with a credential bundle; its outbound policy applies)", o.CloudName)
	d, err := device.New(device.Options{DeviceID: o.DeviceID, Dial: o.Dial, Trace: p.trace, Logger: o.Log})
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	defer d.Close()
	p.say("device              %s booted", d.ID())
	p.say("")
	return flow(ctx, d, o, p)
}

// flow is the application: the Microvisor HTTP sequence, step by step.
func flow(ctx context.Context, d *device.Device, o Options, p *printer) error {
	must := func(what string, st abi.Status) error {
		if st != abi.StatusOkay {
			return fmt.Errorf("%s returned %s", what, st)
		}
		return nil
	}
	if _, st := d.GetDeviceID(); st != abi.StatusOkay {
		return must("mvGetDeviceId", st)
	}
	d.GetNetworkReasons()
	p.step("Set up a notification centre for IRQ %d (TIM8_BRK)", irqTIM8BRK)
	c, st, err := d.SetupNotifications(irqTIM8BRK, 16)
	if err != nil {
		return err
	}
	if err := must("mvSetupNotifications", st); err != nil {
		return err
	}
	p.step("Request the network and wait for CONNECTED")
	nh, st := d.RequestNetwork(c, tagNetwork)
	if err := must("mvRequestNetwork", st); err != nil {
		return err
	}
	for {
		ns, st := d.GetNetworkStatus(nh)
		if err := must("mvGetNetworkStatus", st); err != nil {
			return err
		}
		if ns == abi.NetworkStatusConnected {
			break
		}
		if _, err := c.WaitFor(ctx, tagNetwork, abi.EventTypeNetworkStatusChanged); err != nil {
			return err
		}
	}
	d.GetNetworkReasons()
	d.GetWallTime()

	p.step("Open an HTTP channel (rx %d, tx %d bytes, 512-aligned)", o.RxSize, o.TxSize)
	ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: c, Tag: tagHTTP, Network: nh, Type: abi.ChannelTypeHTTP, RxSize: o.RxSize, TxSize: o.TxSize})
	if err != nil {
		return err
	}
	if err := must("mvOpenChannel", st); err != nil {
		return err
	}
	p.step("Send %s %s", o.Method, o.URL)
	req := device.HTTPRequest{Method: o.Method, URL: o.URL, Headers: o.Headers, Body: []byte(o.Body), TimeoutMS: o.TimeoutMS}
	if st, err := d.SendHTTPRequest(ch, req); err != nil || st != abi.StatusOkay {
		return errors.Join(err, must("mvSendHttpRequest", st))
	}
	p.step("Wait for the interrupt: CHANNELDATAREADABLE")
	for {
		n, err := c.Wait(ctx)
		if err != nil {
			return err
		}
		if n.Tag == tagHTTP && n.EventType == abi.EventTypeChannelNotConnected {
			r, _ := d.GetChannelClosureReason(ch)
			return fmt.Errorf("channel lost its connection: %s", r)
		}
		if n.Tag == tagHTTP && n.EventType == abi.EventTypeChannelDataReadable {
			break
		}
	}
	p.step("Read the response")
	data, st := d.ReadHTTPResponseData(ch)
	if err := must("mvReadHttpResponseData", st); err != nil {
		return err
	}
	var headers []string
	for i := range data.NumHeaders {
		h, st := d.ReadHTTPResponseHeader(ch, i, 256)
		if err := must("mvReadHttpResponseHeader", st); err != nil {
			return err
		}
		headers = append(headers, h)
	}
	var body []byte
	if data.BodyLength > 0 {
		body, st, err = d.ReadHTTPResponseBody(ch, 0, data.BodyLength)
		if err != nil {
			return err
		}
		if err := must("mvReadHttpResponseBody", st); err != nil {
			return err
		}
	}
	p.step("Close the channel, release the network, close the notification centre")
	d.CloseChannel(ch)
	d.ReleaseNetwork(nh)
	d.CloseNotifications(c)

	p.say("")
	p.say("Response: %s, HTTP %d", data.Result, data.StatusCode)
	for _, h := range headers {
		p.say("  %s", h)
	}
	if len(body) > 0 {
		p.say("")
		p.say("%s", strings.TrimRight(string(body), "\n"))
	}
	if data.Result != abi.HTTPResultOK {
		return fmt.Errorf("the request failed: %s", data.Result)
	}
	return nil
}

// startLocalServer starts the demo's HTTPS server on loopback.
func startLocalServer() (stop func(), url string, ca *x509.Certificate, resolve string, err error) {
	authority, err := pki.NewCA("mvnet demo CA")
	if err != nil {
		return nil, "", nil, "", err
	}
	tlsConf, err := authority.ServerTLS(DemoHost)
	if err != nil {
		return nil, "", nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, "", fmt.Errorf("local server: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", "mvnet-demo")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"message": "Hello from the mvnet demo server",
			"method":  r.Method,
			"host":    r.Host,
		})
	})
	hs := &http.Server{Handler: mux, TLSConfig: tlsConf, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	return func() { _ = hs.Close() }, "https://" + DemoHost + ":" + port + "/hello", authority.Cert,
		DemoHost + ":" + port + ":127.0.0.1", nil
}

// printer writes the transcript; notifications arrive from the interrupt
// goroutine, so writes are serialised.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *printer) step(format string, args ...any) {
	p.say("\n== "+format, args...)
}

func (p *printer) trace(e device.TraceEvent) {
	switch e.Kind {
	case "syscall":
		args := e.Args
		p.say("%s", strings.TrimRight(fmt.Sprintf("  %-27s %-40s → %s %s", e.Call, args, e.Status, e.Result), " "))
	case "notification":
		n := e.Notification
		p.say("  ⚡ IRQ  %-22s tag=%#06x  at %d µs", n.EventType, n.Tag, n.Microseconds)
	case "link-error":
		p.say("  ⚠ link: %s", e.Text)
	case "link-up":
		p.say("  ✓ link up")
	case "diagnostic":
		p.say("  ℹ cloud, channel %#x: %s", e.Channel, e.Text)
	}
}
