// Package cluster makes a cloud node one of several serving one fleet
// (docs/scaling.md, "A cluster"): the nodes share one NATS JetStream (the
// store: embedded servers clustered by routes, or an external NATS) and
// nothing else. A Member keeps this node's entry in the store's node
// registry (a heartbeat every store.NodeHeartbeat), records the presence
// of the devices whose links this node holds (cloud.Options.OnLink), and
// answers requests for them from the other nodes on NATS request/reply
// subjects mvnet.node.<name>.<op>. Its Faults and SetLogging route a
// device's operation to the node named by the device's presence, or serve
// it here when that is this node (or no node): one node's REST API serves
// every device of the cluster.
//
// Log lines need no routing: every node appends to and follows the same
// JetStream stream. A device's deletion reaches the node holding its link
// through the store too (store.WatchDeletedDevices).
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/nats-io/nats.go"
)

// subjectPrefix starts every node's request subjects:
// mvnet.node.<name>.<op>.
const subjectPrefix = "mvnet.node."

// requestTimeout bounds a request to another node.
const requestTimeout = 5 * time.Second

// ErrNoAnswer is returned for an operation on a device whose node did
// not answer in time: it may still perform it, so it is not served here.
var ErrNoAnswer = errors.New("cluster: the node holding the device did not answer")

// storeTimeout bounds one presence or registry write.
const storeTimeout = 10 * time.Second

// presenceWriters bounds the presence writes a node has in flight.
const presenceWriters = 64

// Local is what a Member needs of this node's cloud; *cloud.Server
// satisfies it.
type Local interface {
	Faults() *faults.Injector
	SetLogging(deviceID string, enabled bool) bool
}

// Options configure New.
type Options struct {
	// Store is the shared store; required.
	Store *store.Store
	// Name is this node's name, unique in the cluster
	// (store.CheckNodeName); required.
	Name string
	// Advertise is this node's device listener as bundles name it.
	Advertise string
	// API is this node's REST API URL ("" for none).
	API string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Member is this node's part in the cluster.
type Member struct {
	o     Options
	log   *slog.Logger
	local Local
	info  store.NodeInfo

	mu    sync.Mutex
	dirty map[string]bool      // devices whose presence must be written again
	since map[string]time.Time // when each device's link here came up
	kick  chan struct{}

	// draining is set by Drain: the registry entry says so.
	draining atomic.Bool
	// timeout bounds a request to another node (requestTimeout).
	timeout time.Duration

	// linked tells whether this node holds a device's link
	// (local.Faults().Connected); wrote, if set, hears of each presence
	// written (the benchmark's hook).
	linked func(deviceID string) bool
	wrote  func(deviceID string)
	// writing, if set, is called before each presence write, once the
	// link's state is read (the tests' gate).
	writing func(deviceID string)

	sub    *nats.Subscription
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New checks o and returns a Member not yet started: its OnLink may be
// given to cloud.New before Start.
func New(o Options) (*Member, error) {
	if o.Store == nil {
		return nil, errors.New("cluster: no store")
	}
	if err := store.CheckNodeName(o.Name); err != nil {
		return nil, fmt.Errorf("cluster: node name: %w", err)
	}
	m := &Member{o: o, log: o.Logger, dirty: make(map[string]bool), since: make(map[string]time.Time), timeout: requestTimeout, kick: make(chan struct{}, 1)}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.log = m.log.With("component", "cluster", "node", o.Name)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.info = store.NodeInfo{Name: o.Name, Advertise: o.Advertise, API: o.API, Started: time.Now().UTC()}
	return m, nil
}

// Name is the node's name.
func (m *Member) Name() string { return m.o.Name }

// Start registers the node (and keeps its entry alive), starts writing
// presence and answers the other nodes' requests, for the cloud local.
// ctx bounds the first registration.
func (m *Member) Start(ctx context.Context, local Local) error {
	m.local = local
	if m.linked == nil {
		m.linked = local.Faults().Connected
	}
	if err := m.o.Store.PutNode(ctx, m.info); err != nil {
		return err
	}
	sub, err := m.o.Store.Conn().Subscribe(subjectPrefix+m.o.Name+".>", m.serve)
	if err != nil {
		return fmt.Errorf("cluster: subscribe: %w", err)
	}
	watch, err := m.o.Store.WatchPresence(m.ctx, m.presenceChanged)
	if err != nil {
		_ = sub.Unsubscribe()
		return err
	}
	m.sub = sub
	m.wg.Add(3)
	go m.heartbeat()
	go m.presenceLoop()
	go m.watchPresence(watch)
	return nil
}

// Drain marks the node draining in the registry (a node being stopped,
// whose devices are asked to move): the bundles any node hands out from
// now on leave it out (Addresses), while the devices still linked here
// keep being served here until Close.
func (m *Member) Drain(ctx context.Context) error {
	m.draining.Store(true)
	return m.o.Store.PutNode(ctx, m.nodeInfo())
}

// nodeInfo is the node's registry entry as it is now.
func (m *Member) nodeInfo() store.NodeInfo {
	n := m.info
	n.Draining = m.draining.Load()
	return n
}

// presenceChanged repairs the presence of the devices this node holds
// (a watch of the store's presence entries): an entry of one of them
// written naming another node, or removed (a late write or clear of a
// node the device has left), marks it for writing again, and the write
// leaves an entry of a live node whose link came up later.
func (m *Member) presenceChanged(id string, p store.Presence, ok bool) {
	if ok && p.Node == m.o.Name {
		return
	}
	m.mu.Lock()
	_, held := m.since[id]
	m.mu.Unlock()
	if held && m.linked(id) {
		m.mark(id)
	}
}

// watchPresence runs the presence watch run, and watches again if it
// fails.
func (m *Member) watchPresence(run func() error) {
	defer m.wg.Done()
	for {
		err := run()
		if err == nil {
			return
		}
		m.log.Warn("presence watch failed; watching again", "err", err)
		for {
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			if run, err = m.o.Store.WatchPresence(m.ctx, m.presenceChanged); err == nil {
				break
			}
		}
		// Repair what changed while the watch was down.
		m.mu.Lock()
		for id := range m.since {
			m.dirty[id] = true
		}
		m.mu.Unlock()
		m.mark("")
	}
}

// Close stops answering, removes the node's entry (its presences become
// stale at once) and stops the heartbeat. Call it once the cloud has shut
// down.
func (m *Member) Close() {
	m.once.Do(func() {
		if m.sub != nil {
			_ = m.sub.Unsubscribe()
		}
		m.cancel()
		m.wg.Wait()
		if m.local != nil {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			defer cancel()
			if err := m.o.Store.DeleteNode(ctx, m.o.Name); err != nil {
				m.log.Warn("could not remove the node from the registry", "err", err)
			}
		}
	})
}

// heartbeat rewrites the node's entry every store.NodeHeartbeat, so that
// it outlives the bucket's TTL while the node runs.
func (m *Member) heartbeat() {
	defer m.wg.Done()
	t := time.NewTicker(store.NodeHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(m.ctx, store.NodeHeartbeat)
		if err := m.o.Store.PutNode(ctx, m.nodeInfo()); err != nil && m.ctx.Err() == nil {
			m.log.Warn("node heartbeat failed", "err", err)
		}
		cancel()
	}
}

// OnLink is cloud.Options.OnLink: it notes when the device's link came
// up (its presence's since), marks its presence for writing and returns
// at once.
func (m *Member) OnLink(deviceID string, up bool) {
	if up {
		m.mu.Lock()
		m.since[deviceID] = time.Now()
		m.mu.Unlock()
	}
	m.mark(deviceID)
}

// mark marks deviceID's presence for writing ("": none) and wakes the
// writer.
func (m *Member) mark(deviceID string) {
	m.mu.Lock()
	if deviceID != "" {
		m.dirty[deviceID] = true
	}
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// presenceLoop writes the presence of the devices OnLink marked, from
// the link's state when it writes (so that events seen out of order
// cannot leave a wrong presence): set if this node holds the device's
// link, else cleared if it names this node. A pass writes the devices
// marked so far, presenceWriters at a time (each write is a KV round trip,
// a quorum's in a replicated store: one at a time, a burst of links would
// wait on them in a queue); a device marked again meanwhile is written in
// the next pass, after its write in flight, so the last write of a device
// is from its last state.
func (m *Member) presenceLoop() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
		}
		m.mu.Lock()
		ids := make([]string, 0, len(m.dirty))
		for id := range m.dirty {
			ids = append(ids, id)
		}
		clear(m.dirty)
		m.mu.Unlock()
		var failed atomic.Bool
		var wg sync.WaitGroup
		slots := make(chan struct{}, presenceWriters)
		for _, id := range ids {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				if !m.writePresence(id) {
					failed.Store(true)
				}
			})
		}
		wg.Wait()
		if failed.Load() {
			select { // the store is struggling: give it a second
			case <-m.ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// writePresence writes one device's presence from its link's state;
// false if it failed (the device is then marked again).
func (m *Member) writePresence(id string) bool {
	ctx, cancel := context.WithTimeout(m.ctx, storeTimeout)
	defer cancel()
	var err error
	if m.linked(id) {
		m.mu.Lock()
		since, ok := m.since[id]
		m.mu.Unlock()
		if !ok { // cannot be (OnLink's up comes first); if so, now is later
			since = time.Now()
		}
		if m.writing != nil {
			m.writing(id)
		}
		err = m.o.Store.HoldPresence(ctx, id, m.o.Name, since)
	} else {
		m.mu.Lock()
		if !m.dirty[id] { // marked again: its since may be a new link's
			delete(m.since, id)
		}
		m.mu.Unlock()
		if m.writing != nil {
			m.writing(id)
		}
		err = m.o.Store.ClearPresence(ctx, id, m.o.Name)
	}
	if err == nil {
		if m.wrote != nil {
			m.wrote(id)
		}
		return true
	}
	if m.ctx.Err() == nil {
		m.log.Warn("presence not written; trying again", "device", id, "err", err)
		m.mark(id) // state re-read on the next pass
	}
	return false
}

// Addresses are the device listeners of the live nodes not draining,
// this node's first: what a bundle lists.
func (m *Member) Addresses(ctx context.Context) ([]string, error) {
	nodes, err := m.o.Store.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var addrs []string
	if !m.draining.Load() {
		addrs = append(addrs, m.o.Advertise)
	}
	for _, n := range nodes {
		if n.Name != m.o.Name && !n.Draining && n.Advertise != "" && !slices.Contains(addrs, n.Advertise) {
			addrs = append(addrs, n.Advertise)
		}
	}
	return addrs, nil
}

// holder names the node holding deviceID's link: "" for this node or
// none (the operation is then served here).
func (m *Member) holder(ctx context.Context, deviceID string) (string, error) {
	p, ok, err := m.o.Store.DevicePresence(ctx, deviceID)
	if err != nil || !ok || p.Node == m.o.Name {
		return "", err
	}
	return p.Node, nil
}

// request is a routed operation's body; reply its answer.
type request struct {
	Device  string        `json:"device"`
	Spec    *faults.Spec  `json:"spec,omitempty"`
	Fault   string        `json:"fault,omitempty"`
	Kinds   []faults.Kind `json:"kinds,omitempty"`
	Enabled bool          `json:"enabled,omitempty"`
}

type reply struct {
	Fault     *faults.Fault  `json:"fault,omitempty"`
	Faults    []faults.Fault `json:"faults,omitempty"`
	N         int            `json:"n,omitempty"`
	Connected bool           `json:"connected,omitempty"`
	Err       string         `json:"err,omitempty"`
	// Code names a faults error a caller tests for (errors.Is).
	Code string `json:"code,omitempty"`
}

// The operations.
const (
	opApply    = "fault.apply"
	opClear    = "fault.clear"
	opClearAll = "fault.clearall"
	opList     = "fault.list"
	opLogging  = "logging"
)

// codes map the faults errors that cross the wire.
var codes = map[string]error{
	"not_connected":   faults.ErrNotConnected,
	"unknown_channel": faults.ErrUnknownChannel,
	"unknown_fault":   faults.ErrUnknownFault,
	"closed":          faults.ErrClosed,
}

func errReply(err error) reply {
	r := reply{Err: err.Error()}
	for c, e := range codes {
		if errors.Is(err, e) {
			r.Code = c
		}
	}
	return r
}

// wireError is an error another node answered.
type wireError struct {
	msg string
	is  error
}

func (e *wireError) Error() string { return e.msg }
func (e *wireError) Unwrap() error { return e.is }

// serve answers another node's request.
func (m *Member) serve(msg *nats.Msg) {
	op := msg.Subject[len(subjectPrefix)+len(m.o.Name)+1:]
	var q request
	var r reply
	if err := json.Unmarshal(msg.Data, &q); err != nil {
		r = reply{Err: "cluster: bad request: " + err.Error()}
	} else if r, err = m.here(op, q); err != nil {
		r = errReply(err)
	}
	b, _ := json.Marshal(r)
	_ = msg.Respond(b)
}

// here performs op on this node's cloud.
func (m *Member) here(op string, q request) (reply, error) {
	inj := m.local.Faults()
	switch op {
	case opApply:
		if q.Spec == nil {
			return reply{}, errors.New("cluster: fault.apply without a spec")
		}
		f, err := inj.Apply(q.Device, *q.Spec)
		return reply{Fault: &f}, err
	case opClear:
		return reply{}, inj.Clear(q.Device, q.Fault)
	case opClearAll:
		n, err := inj.ClearAll(q.Device, q.Kinds...)
		return reply{N: n}, err
	case opList:
		return reply{Faults: inj.List(q.Device), Connected: inj.Connected(q.Device)}, nil
	case opLogging:
		return reply{Connected: m.local.SetLogging(q.Device, q.Enabled)}, nil
	}
	return reply{}, errors.New("cluster: unknown operation " + op)
}

// call performs op for q's device on the node holding its link, or here
// when that is this node or none.
func (m *Member) call(op string, q request) (reply, error) {
	ctx, cancel := context.WithTimeout(m.ctx, requestTimeout)
	defer cancel()
	node, err := m.holder(ctx, q.Device)
	if err != nil {
		m.log.Warn("presence unreadable: serving here", "device", q.Device, "err", err)
	}
	if node == "" {
		return m.here(op, q)
	}
	b, _ := json.Marshal(q)
	rctx, rcancel := context.WithTimeout(m.ctx, m.timeout)
	defer rcancel()
	msg, err := m.o.Store.Conn().RequestWithContext(rctx, subjectPrefix+node+"."+op, b)
	if errors.Is(err, nats.ErrNoResponders) {
		// No node listens there (killed, its presence not yet stale):
		// the device is on its way elsewhere; serve here.
		m.log.Warn("the node holding the device is gone: serving here", "device", q.Device, "holder", node)
		return m.here(op, q)
	}
	if err != nil {
		// A slow node may still perform the operation: serving it here
		// too could leave it done twice, or in force there while the
		// caller is told it failed.
		// It wraps the request's error too: the REST API answers 503, retry
		// (store.Unavailable).
		return reply{}, fmt.Errorf("%w (node %s): %w", ErrNoAnswer, node, err)
	}
	var r reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return reply{}, fmt.Errorf("cluster: bad answer from node %s: %w", node, err)
	}
	if r.Err != "" {
		return r, &wireError{msg: r.Err, is: codes[r.Code]}
	}
	return r, nil
}

// Faults is the cluster's fault injector: each operation acts on the node
// holding the device's link (api.Faults, api.Linker).
func (m *Member) Faults() *Faults { return &Faults{m} }

// Faults routes fault operations; see Member.Faults.
type Faults struct{ m *Member }

// Apply puts a fault in force on the device's node.
func (f *Faults) Apply(deviceID string, s faults.Spec) (faults.Fault, error) {
	r, err := f.m.call(opApply, request{Device: deviceID, Spec: &s})
	if err != nil || r.Fault == nil {
		return faults.Fault{}, err
	}
	return *r.Fault, nil
}

// Clear clears one fault on the device's node.
func (f *Faults) Clear(deviceID, faultID string) error {
	_, err := f.m.call(opClear, request{Device: deviceID, Fault: faultID})
	return err
}

// ClearAll clears the device's faults (of the kinds only, if any) on its
// node.
func (f *Faults) ClearAll(deviceID string, only ...faults.Kind) (int, error) {
	r, err := f.m.call(opClearAll, request{Device: deviceID, Kinds: only})
	return r.N, err
}

// List lists the faults in force on the device's node (none if it cannot
// be asked).
func (f *Faults) List(deviceID string) []faults.Fault {
	r, err := f.m.call(opList, request{Device: deviceID})
	if err != nil {
		f.m.log.Warn("fault list failed", "device", deviceID, "err", err)
	}
	return r.Faults
}

// Connected reports whether the device's link is on any node.
func (f *Faults) Connected(deviceID string) bool {
	r, _ := f.m.call(opList, request{Device: deviceID})
	return r.Connected
}

// SetLogging tells the device's node (api.LoggingSetter); it reports
// whether the device is connected there.
func (m *Member) SetLogging(deviceID string, enabled bool) bool {
	r, err := m.call(opLogging, request{Device: deviceID, Enabled: enabled})
	if err != nil {
		m.log.Warn("logging setting not delivered", "device", deviceID, "err", err)
	}
	return r.Connected
}

// Presences says which live node holds the link of each of deviceIDs
// (api.Presence: the REST API on any node shows every device's link).
func (m *Member) Presences(ctx context.Context, deviceIDs []string) (map[string]store.Presence, error) {
	return m.o.Store.Presences(ctx, deviceIDs)
}
