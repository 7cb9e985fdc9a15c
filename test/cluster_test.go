package test

// Three `mvnet cloud serve` processes serve one fleet, sharing one NATS
// JetStream (docs/scaling.md, "A cluster"): their embedded NATS servers
// clustered by routes, or an external 3-node NATS cluster. Devices (the Go
// device API, multi-address bundles) connect over TLS; one node is killed
// with SIGKILL during load: its devices reconnect to another, no log line
// is lost or stored twice, no acknowledged config write is lost, and the
// cloud (with one NATS node fewer) keeps serving.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/nats-io/nats-server/v2/server"
)

// clusterWait bounds each wait of the cluster tests: generous, since six
// processes share two cores with the test.
const clusterWait = 90 * time.Second

// TestCluster runs the cluster scenarios with one build of mvnet.
func TestCluster(t *testing.T) {
	bin := buildMvnet(t)
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		clusterScenario(t, bin, false)
	})
	t.Run("external", func(t *testing.T) {
		t.Parallel()
		clusterScenario(t, bin, true)
	})
}

// cloudNode is one `mvnet cloud serve` process.
type cloudNode struct {
	name    string
	cmd     *exec.Cmd
	devices string // device listener
	api     string // REST API URL
	ops     string // ops endpoints' URL (/metrics)
	account string
	token   string // only on the node that created the account
	stderr  string
	exited  chan error
	killed  bool
}

// startNode starts `mvnet cloud serve` with args; ready delivers the node
// once it prints its last line, or an error.
func startNode(t *testing.T, bin, name string, args []string) (*cloudNode, <-chan error) {
	n := &cloudNode{name: name, exited: make(chan error, 1), stderr: filepath.Join(t.TempDir(), "stderr")}
	n.cmd = exec.Command(bin, append([]string{"cloud", "serve", "--node-name", name,
		"--listen-devices", "127.0.0.1:0", "--listen-api", "127.0.0.1:0", "--listen-ops", "127.0.0.1:0"}, args...)...)
	n.cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "HOME="+t.TempDir())
	ready := make(chan error, 1)
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ef, err := os.Create(n.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	n.cmd.Stderr = ef
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		done := false
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 || done {
				continue
			}
			switch f[0] {
			case "devices":
				n.devices = f[1]
			case "api":
				n.api = f[1]
			case "ops":
				n.ops = f[1]
			case "account":
				n.account = f[1]
			case "token":
				n.token = f[1]
			case "data":
				done = true
				ready <- nil
			}
		}
		err := n.cmd.Wait()
		if !done {
			log, _ := os.ReadFile(n.stderr)
			ready <- fmt.Errorf("node %s exited before serving: %v\n%s", name, err, log)
		}
		n.exited <- err
	}()
	t.Cleanup(func() {
		if n.killed {
			return
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(clusterWait):
			_ = n.cmd.Process.Kill()
			t.Errorf("node %s did not stop on SIGTERM", name)
		}
	})
	return n, ready
}

// kill ends the node with SIGKILL (no drain, no goodbye).
func (n *cloudNode) kill(t *testing.T) {
	n.killed = true
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-n.exited
}

// freeAddrs reserves n loopback addresses (listen on port 0, close).
func freeAddrs(t *testing.T, n int) []string {
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// startExternalNATS runs a 3-node nats-server cluster in the test process
// and returns its client URLs and a function that stops one server.
func startExternalNATS(t *testing.T) (urls []string, stop func(i int)) {
	routes := freeAddrs(t, 3)
	var rs []string
	for _, r := range routes {
		rs = append(rs, "nats-route://"+r)
	}
	srvs := make([]*server.Server, 3)
	for i := range 3 {
		host, port, _ := net.SplitHostPort(routes[i])
		p, _ := strconv.Atoi(port)
		o := &server.Options{ServerName: fmt.Sprintf("nats-%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "ext", Host: host, Port: p},
			Routes:  server.RoutesFromStr(strings.Join(rs, ","))}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		if !s.ReadyForConnections(clusterWait) {
			t.Fatal("nats-server not ready")
		}
		srvs[i] = s
		urls = append(urls, s.ClientURL())
	}
	return urls, func(i int) { srvs[i].Shutdown(); srvs[i].WaitForShutdown() }
}

// apiClient calls a node's REST API.
type apiClient struct {
	account, token string
	hc             *http.Client
}

func (c *apiClient) do(ctx context.Context, method, u string, form url.Values) (int, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth(c.account, c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *apiClient) must(t *testing.T, ctx context.Context, want int, method, u string, form url.Values) []byte {
	t.Helper()
	st, b, err := c.do(ctx, method, u, form)
	if err != nil || st != want {
		t.Fatalf("%s %s: %d %v\n%s", method, u, st, err, b)
	}
	return b
}

// mustSoon is must, trying again while the answer is a 5xx: after a
// node's death, requests that reach the store while JetStream elects new
// leaders fail for a few seconds (docs/scaling.md), and clients retry.
func (c *apiClient) mustSoon(t *testing.T, ctx context.Context, want int, method, u string, form url.Values) []byte {
	t.Helper()
	var st int
	var b []byte
	var err error
	poll.Within(t, clusterWait, method+" "+u+" answered", func() bool {
		st, b, err = c.do(ctx, method, u, form)
		return err == nil && st/100 != 5
	})
	if st != want {
		t.Fatalf("%s %s: %d\n%s", method, u, st, b)
	}
	return b
}

// fleetDevice is one emulated device and the address of its current link.
type fleetDevice struct {
	sid string
	d   *device.Device
	mu  sync.Mutex
	at  string    // the address of the last link dialled
	up  time.Time // when it was dialled
}

func (f *fleetDevice) where() (string, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at, f.up
}

func clusterScenario(t *testing.T, bin string, external bool) {
	ctx := testenv.Context(t, 5*clusterWait)
	// One device CA and one secret key for every node (docs/scaling.md:
	// copied from the first node).
	ca := t.TempDir()
	if _, err := devca.Open(ca); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	var natsURLs []string
	var stopNATS func(int)
	if external {
		natsURLs, stopNATS = startExternalNATS(t)
	}
	routes := freeAddrs(t, 3)
	nodes := make([]*cloudNode, 3)
	var readies []<-chan error
	for i := range 3 {
		data := t.TempDir()
		copyDir(t, ca, filepath.Join(data, "devca"))
		if err := os.WriteFile(filepath.Join(data, "secret.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"--data-dir", data}
		if external {
			args = append(args, "--nats-url", strings.Join(natsURLs, ","), "--replicas", "3")
		} else {
			args = append(args, "--cluster-listen", routes[i], "--routes", strings.Join(routes, ","))
		}
		var ready <-chan error
		nodes[i], ready = startNode(t, bin, fmt.Sprintf("node-%d", i+1), args)
		readies = append(readies, ready)
		if external && i == 0 {
			// The first node creates the buckets (embedded, the meta
			// leader does; see store.Open).
			select {
			case err := <-ready:
				if err != nil {
					t.Fatal(err)
				}
				readies = readies[:0]
			case <-ctx.Done():
				t.Fatal("node 1 did not start")
			}
		}
	}
	for _, r := range readies {
		select {
		case err := <-r:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("the nodes did not start")
		}
	}
	c := &apiClient{hc: &http.Client{Timeout: 20 * time.Second}}
	for _, n := range nodes {
		if n.token != "" {
			c.account, c.token = n.account, n.token
		}
	}
	if c.token == "" {
		t.Fatal("no node printed the account's token")
	}

	// Devices, two created through each node's API: their bundles list
	// every node, that node first.
	var fleet []*fleetDevice
	for i := range 6 {
		n := nodes[i%3]
		b := c.must(t, ctx, http.StatusCreated, "POST", n.api+"/v1/Devices", url.Values{})
		var created struct {
			Bundle device.Bundle `json:"bundle"`
		}
		if err := json.Unmarshal(b, &created); err != nil {
			t.Fatal(err)
		}
		bu := created.Bundle
		if got := bu.Addresses(); len(got) != 3 || got[0] != n.devices {
			t.Fatalf("bundle from %s lists %v (want 3 addresses, %s first)", n.name, got, n.devices)
		}
		fleet = append(fleet, joinCluster(t, &bu))
	}
	for _, f := range fleet {
		if _, st, err := f.d.ServerLoggingInit(8192); err != nil || st != abi.StatusOkay {
			t.Fatal(st, err)
		}
		if _, err := f.d.Connect(ctx, irq); err != nil {
			t.Fatal(err)
		}
	}

	// Faults reach the node holding the link: applied through node 2's
	// API on a device linked to node 1, listed through node 3's.
	d0 := fleet[0]
	if at, _ := d0.where(); at != nodes[0].devices {
		t.Fatalf("device 0 linked to %s, want node 1 (%s)", at, nodes[0].devices)
	}
	// Until node 1 has written the device's presence, node 2 applies
	// the fault to itself and says so: clear that and try again.
	var fb []byte
	poll.Within(t, clusterWait, "a fault through node 2 reaching node 1", func() bool {
		fb = c.must(t, ctx, http.StatusCreated, "POST", nodes[1].api+"/v1/Devices/"+d0.sid+"/Faults",
			url.Values{"Kind": {"latency"}, "Delay": {"1ms"}})
		if !bytes.Contains(fb, []byte("not connected to this cloud node")) {
			return true
		}
		c.must(t, ctx, http.StatusOK, "DELETE", nodes[1].api+"/v1/Devices/"+d0.sid+"/Faults", nil)
		return false
	})
	lb := c.must(t, ctx, http.StatusOK, "GET", nodes[2].api+"/v1/Devices/"+d0.sid+"/Faults", nil)
	if !bytes.Contains(lb, []byte(`"latency"`)) {
		t.Errorf("node 3 does not list node 1's fault:\n%s", lb)
	}
	c.must(t, ctx, http.StatusOK, "DELETE", nodes[2].api+"/v1/Devices/"+d0.sid+"/Faults", nil)
	lb = c.must(t, ctx, http.StatusOK, "GET", nodes[0].api+"/v1/Devices/"+d0.sid+"/Faults", nil)
	if bytes.Contains(lb, []byte(`"latency"`)) {
		t.Errorf("fault cleared through node 3 still in force on node 1:\n%s", lb)
	}

	linkViews(t, ctx, c, nodes)

	// Load: every device logs a line every logPace, without a break
	// from before node 1 is killed until its devices have moved and
	// logged more, so that lines are in flight to node 1 when it dies
	// (accepted, not acknowledged: sent again to another node, which
	// must store each once); configs are written through every node's
	// API, the acknowledged ones remembered.
	const logPace = 10 * time.Millisecond
	logged := make([][]string, len(fleet))
	nLogged := make([]atomic.Int64, len(fleet))
	stopLogs := make(chan struct{})
	var logging sync.WaitGroup
	for i, f := range fleet {
		logging.Go(func() {
			tick := time.NewTicker(logPace)
			defer tick.Stop()
			for k := 0; ; k++ {
				select {
				case <-stopLogs:
					return
				case <-tick.C:
				}
				line := fmt.Sprintf("%s %d", f.sid, k)
				var st abi.Status
				poll.Within(t, clusterWait, "room in the log buffer", func() bool {
					st, _ = f.d.ServerLog(line)
					return st != abi.StatusInvalidBufferSize
				})
				if st != abi.StatusOkay {
					t.Errorf("mvServerLog(%q): %v", line, st)
					return
				}
				logged[i] = append(logged[i], line)
				nLogged[i].Add(1)
			}
		})
	}
	// loggedMore waits until every device of fs has logged n lines more.
	loggedMore := func(what string, fs []*fleetDevice, n int64) {
		from := make([]int64, len(fleet))
		for i := range fleet {
			from[i] = nLogged[i].Load()
		}
		for i, f := range fleet {
			if slices.Contains(fs, f) {
				poll.Within(t, clusterWait, what, func() bool { return nLogged[i].Load() >= from[i]+n })
			}
		}
	}
	acked := map[string]string{}
	var ackMu sync.Mutex
	var ackCount atomic.Int64
	stopWrites := make(chan struct{})
	writesDone := make(chan struct{})
	go func() {
		defer close(writesDone)
		for k := 0; ; k++ {
			select {
			case <-stopWrites:
				return
			default:
			}
			n := nodes[k%3]
			key, val := fmt.Sprintf("cfg-%04d", k), fmt.Sprint("value ", k)
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			st, _, err := c.do(wctx, "POST", n.api+"/v1/Configs", url.Values{"Key": {key}, "Value": {val}})
			cancel()
			if err == nil && st/100 == 2 {
				ackMu.Lock()
				acked[key] = val
				ackMu.Unlock()
				ackCount.Add(1)
			}
		}
	}()
	loggedMore("lines logged before the kill", fleet, 20)
	poll.Within(t, clusterWait, "config writes acknowledged before the kill", func() bool { return ackCount.Load() >= 5 })

	// Kill node 1 (a cloud node and, embedded, a NATS node).
	var moved []*fleetDevice
	for _, f := range fleet {
		if at, _ := f.where(); at == nodes[0].devices {
			moved = append(moved, f)
		}
	}
	if len(moved) == 0 {
		t.Fatal("no device was linked to node 1")
	}
	// Kill when lines of a device linked to node 1 wait for its
	// acknowledgement.
	var inFlight []string
	poll.Within(t, clusterWait, "log lines in flight to node 1", func() bool {
		for _, f := range moved {
			if n := f.d.Kernel.LogsPending(); n > 0 {
				inFlight = append(inFlight, fmt.Sprintf("%s: %d", f.sid, n))
			}
		}
		return len(inFlight) > 0
	})
	killed := time.Now()
	nodes[0].kill(t)
	t.Logf("node 1 killed with log lines pending on %s", strings.Join(inFlight, ", "))
	if external {
		stopNATS(0) // and one NATS node of the external cluster
	}
	var slowest time.Duration
	for _, f := range moved {
		poll.Within(t, clusterWait, "device "+f.sid+" relinked to another node", func() bool {
			at, up := f.where()
			return f.d.Kernel.LinkUp() && at != nodes[0].devices && up.After(killed)
		})
		_, up := f.where()
		slowest = max(slowest, up.Sub(killed))
	}
	t.Logf("external NATS %v: %d devices of the killed node relinked to another node; the last %v after the kill",
		external, len(moved), slowest.Round(time.Millisecond))
	loggedMore("lines logged after the move", moved, 20)
	n0 := ackCount.Load()
	poll.Within(t, clusterWait, "config writes acknowledged after the kill", func() bool { return ackCount.Load() >= n0+5 })
	close(stopWrites)
	<-writesDone
	close(stopLogs)
	logging.Wait()

	// Every line once, in order (those in flight at the kill too), read
	// back through a surviving node
	// (node 2 or 3: log streams are JetStream's, any node follows them).
	for i, f := range fleet {
		got := readLogs(t, ctx, c, nodes[1+i%2], f.sid, logged[i][len(logged[i])-1])
		if !slices.Equal(got, logged[i]) {
			t.Errorf("device %s: stored %d lines, logged %d; stored\n%q\nlogged\n%q", f.sid, len(got), len(logged[i]), got, logged[i])
		}
	}
	// Every acknowledged config write, read back through node 3.
	ackMu.Lock()
	defer ackMu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no config write acknowledged")
	}
	for k, v := range acked {
		b := c.mustSoon(t, ctx, http.StatusOK, "GET", nodes[2].api+"/v1/Configs/"+k, nil)
		var cfg struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil || cfg.Value != v {
			t.Errorf("config %s: %s (want %q)", k, b, v)
		}
	}
	t.Logf("%d acknowledged config writes kept", len(acked))
	// The cloud keeps serving: a device created now joins.
	b := c.mustSoon(t, ctx, http.StatusCreated, "POST", nodes[2].api+"/v1/Devices", url.Values{})
	var created struct {
		Bundle device.Bundle `json:"bundle"`
	}
	if err := json.Unmarshal(b, &created); err != nil {
		t.Fatal(err)
	}
	nd := joinCluster(t, &created.Bundle)
	if _, err := nd.d.Connect(ctx, irq); err != nil {
		t.Fatal(err)
	}

	if !external {
		return // two of three NATS nodes would be gone: no quorum
	}
	// A graceful stop: SIGTERM to node 2 drains it (a cluster node
	// drains by default): its devices are told to go away (CONTROL
	// GOAWAY) and move to node 3 before the process exits, cleanly.
	var leaving []*fleetDevice
	for _, f := range append(fleet, nd) {
		if at, _ := f.where(); at == nodes[1].devices {
			leaving = append(leaving, f)
		}
	}
	stopped := time.Now()
	if err := nodes[1].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-nodes[1].exited:
		nodes[1].killed = true // exited: nothing for the cleanup to stop
		if err != nil {
			log, _ := os.ReadFile(nodes[1].stderr)
			t.Fatalf("node 2 after SIGTERM: %v\n%s", err, log)
		}
	case <-ctx.Done():
		t.Fatal("node 2 did not exit after SIGTERM")
	}
	log, _ := os.ReadFile(nodes[1].stderr)
	if !bytes.Contains(log, []byte("mvnet: drained: no device link left")) {
		t.Errorf("node 2 did not say it drained:\n%s", log)
	}
	for _, f := range leaving {
		poll.Within(t, clusterWait, "device "+f.sid+" moved from the drained node 2 to node 3", func() bool {
			at, up := f.where()
			return f.d.Kernel.LinkUp() && at == nodes[2].devices && up.After(stopped)
		})
	}
	t.Logf("%d devices moved off the drained node", len(leaving))
}

// linkViews: the REST API on any node sees every device's link (a device
// linked to node 1, through every node's API; offline once its link
// ends), and a device deleted through node 3's API loses its link on node
// 1, its redials refused as not registered.
func linkViews(t *testing.T, ctx context.Context, c *apiClient, nodes []*cloudNode) {
	extra := make([]*fleetDevice, 2)
	for i := range extra {
		b := c.must(t, ctx, http.StatusCreated, "POST", nodes[0].api+"/v1/Devices", url.Values{})
		var created struct {
			Bundle device.Bundle `json:"bundle"`
		}
		if err := json.Unmarshal(b, &created); err != nil {
			t.Fatal(err)
		}
		extra[i] = joinCluster(t, &created.Bundle)
		if _, err := extra[i].d.Connect(ctx, irq); err != nil {
			t.Fatal(err)
		}
		if at, _ := extra[i].where(); at != nodes[0].devices {
			t.Fatalf("device %s linked to %s, want node 1 (%s)", extra[i].sid, at, nodes[0].devices)
		}
	}
	type link struct {
		Connected bool    `json:"connected"`
		Node      string  `json:"node"`
		Since     *string `json:"connected_since"`
	}
	linkThrough := func(n *cloudNode, sid string) link {
		var l link
		if err := json.Unmarshal(c.must(t, ctx, http.StatusOK, "GET", n.api+"/v1/Devices/"+sid, nil), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, f := range extra {
		for _, n := range nodes {
			// Node 1 writes the presence a moment after the link is up.
			poll.Within(t, clusterWait, f.sid+" seen linked to node 1 through "+n.name, func() bool {
				l := linkThrough(n, f.sid)
				return l.Connected && l.Node == nodes[0].name && l.Since != nil
			})
		}
	}
	ended, deleted := extra[0], extra[1]
	if err := ended.d.Close(); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, clusterWait, ended.sid+" seen offline through node 3 once its link ended", func() bool {
		l := linkThrough(nodes[2], ended.sid)
		return !l.Connected && l.Node == "" && l.Since == nil
	})

	c.must(t, ctx, http.StatusNoContent, "DELETE", nodes[2].api+"/v1/Devices/"+deleted.sid, nil)
	poll.Within(t, clusterWait, "the deleted device's link ended and its redial refused as not registered", func() bool {
		return !deleted.d.Kernel.LinkUp() && deleted.d.LinkError() != "" && refusedNotRegistered(t, nodes) > 0
	})
	_ = deleted.d.Close() // no more redials
}

// refusedNotRegistered sums the links the nodes refused as not registered
// (their /metrics).
func refusedNotRegistered(t *testing.T, nodes []*cloudNode) int {
	const metric = `mvnet_links_refused_total{reason="not_registered"} `
	total := 0
	for _, n := range nodes {
		resp, err := http.Get(n.ops + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, metric); ok {
				k, _ := strconv.Atoi(strings.TrimSpace(v))
				total += k
			}
		}
	}
	return total
}

// readLogs reads a device's stored lines through a node's log stream, up
// to the line last. A stream that ends (a JetStream leader moving after a
// node died) is resumed after the last event seen, as EventSource does.
func readLogs(t *testing.T, ctx context.Context, c *apiClient, n *cloudNode, sid, last string) []string {
	rctx, cancel := context.WithTimeout(ctx, clusterWait)
	defer cancel()
	var lines []string
	after := "0"
	for attempt := 0; rctx.Err() == nil; attempt++ {
		req, _ := http.NewRequestWithContext(rctx, "GET", n.api+"/v1/Devices/"+sid+"/Logs/Stream?After="+after, nil)
		req.SetBasicAuth(c.account, c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode/100 == 5 && attempt < 5 {
			// The store failing for a moment (a JetStream leader
			// moving): a client tries again.
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			log, _ := os.ReadFile(n.stderr)
			t.Logf("log stream of %s through %s: %s, trying again\n%s\n%s", sid, n.name, resp.Status, b, lastLines(log, 5))
			continue
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("log stream of %s through %s: %s\n%s", sid, n.name, resp.Status, b)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				after = id
			}
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				Line string `json:"line"`
			}
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, ev.Line)
			if ev.Line == last {
				resp.Body.Close()
				return lines
			}
		}
		resp.Body.Close()
		t.Logf("log stream of %s through %s ended (%v) after %d lines; resuming after %s", sid, n.name, sc.Err(), len(lines), after)
	}
	t.Fatalf("log stream of %s: %q not read within %v; got %d lines", sid, last, clusterWait, len(lines))
	return nil
}

// joinCluster makes a device from a bundle, recording which address each
// of its links was dialled to.
func joinCluster(t *testing.T, b *device.Bundle) *fleetDevice {
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	f := &fleetDevice{sid: b.DeviceSid}
	f.d, err = device.New(device.Options{DeviceID: b.DeviceSid,
		Dial: func(ctx context.Context) (net.Conn, error) {
			c, err := dial(ctx)
			if err == nil {
				f.mu.Lock()
				f.at, f.up = c.RemoteAddr().String(), time.Now()
				f.mu.Unlock()
			}
			return c, err
		},
		ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 500 * time.Millisecond,
		Trace: func(e device.TraceEvent) {
			if strings.HasPrefix(e.Kind, "link") { // what a failure needs
				t.Logf("%s %s %s %s", time.Now().Format("15:04:05.000"), b.DeviceSid, e.Kind, e.Text)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.d.Close() })
	return f
}

// lastLines is the end of a log.
func lastLines(b []byte, n int) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

func copyDir(t *testing.T, from, to string) {
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}
