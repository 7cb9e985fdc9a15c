package store

// The node registry and presence of a cluster (docs/scaling.md, "A
// cluster"): which cloud nodes are up, and which node holds each device's
// link. Both live in JetStream like the rest of the state, so every node
// sees them; package cloud/cluster keeps them up to date and routes a
// device's operations to the node named by its presence.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	bucketNodes    = "mvnet_nodes"
	bucketPresence = "mvnet_presence"
)

// Node registry timing: a node writes its entry every NodeHeartbeat, and
// an entry not rewritten for NodeTTL expires, so a node killed without a
// word disappears from the registry within NodeTTL.
const (
	NodeHeartbeat = 5 * time.Second
	NodeTTL       = 3 * NodeHeartbeat
)

// NodeInfo is a cloud node in the registry.
type NodeInfo struct {
	// Name is the node's name, unique in the cluster.
	Name string `json:"name"`
	// Advertise is the node's device listener as bundles name it
	// (host:port).
	Advertise string `json:"advertise"`
	// API is the node's REST API URL, "" if it serves none.
	API string `json:"api,omitempty"`
	// Started is when the node started.
	Started time.Time `json:"started"`
	// Draining is set while the node is being stopped: it still holds
	// its devices' links, but bundles no longer list it.
	Draining bool `json:"draining,omitempty"`
}

// Presence says which node holds a device's link.
type Presence struct {
	Node  string    `json:"node"`
	Since time.Time `json:"since"`
}

// checkNodeName refuses a node name NATS keys and subjects cannot carry.
func checkNodeName(name string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return invalid("NodeName", "%q: want letters, digits, '-' and '_' only", name)
	}
	return nil
}

// CheckNodeName reports what is wrong with a node name, or nil.
func CheckNodeName(name string) error { return checkNodeName(name) }

// PutNode writes (or refreshes: the heartbeat) a node's registry entry.
func (s *Store) PutNode(ctx context.Context, n NodeInfo) error {
	if err := checkNodeName(n.Name); err != nil {
		return err
	}
	b, _ := json.Marshal(n)
	if _, err := s.nodes.Put(ctx, n.Name, b); err != nil {
		return fmt.Errorf("store: node %s: %w", n.Name, err)
	}
	return nil
}

// DeleteNode removes a node's registry entry (a node stopping).
func (s *Store) DeleteNode(ctx context.Context, name string) error {
	if err := s.nodes.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("store: node %s: %w", name, err)
	}
	return nil
}

// Nodes lists the live nodes (those that wrote their entry within
// NodeTTL), by name.
func (s *Store) Nodes(ctx context.Context) ([]NodeInfo, error) {
	lister, err := s.nodes.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: nodes: %w", err)
	}
	var out []NodeInfo
	for k := range lister.Keys() {
		n, ok, err := s.node(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// node reads one registry entry; ok is false if there is none (never
// written, deleted or expired).
func (s *Store) node(ctx context.Context, name string) (NodeInfo, bool, error) {
	e, err := s.nodes.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return NodeInfo{}, false, nil
	}
	if err != nil {
		return NodeInfo{}, false, fmt.Errorf("store: node %s: %w", name, err)
	}
	var n NodeInfo
	if err := json.Unmarshal(e.Value(), &n); err != nil {
		return NodeInfo{}, false, fmt.Errorf("store: node %s: %w", name, err)
	}
	return n, true, nil
}

// SetPresence records that node holds deviceID's link, which came up
// now: HoldPresence with the time of the call.
func (s *Store) SetPresence(ctx context.Context, deviceID, node string) error {
	return s.HoldPresence(ctx, deviceID, node, time.Now())
}

// HoldPresence records that node holds deviceID's link, which came up
// there at since (past HELLO). It writes by compare-and-set on the entry
// it read and leaves an entry naming another live node whose link came up
// later: a write that raced with the device's move (its link ended here
// and came up there meanwhile) cannot take the presence back. An entry
// naming this node with the same since is left as it is.
func (s *Store) HoldPresence(ctx context.Context, deviceID, node string, since time.Time) error {
	if err := checkSid(deviceID); err != nil {
		return err
	}
	since = since.UTC()
	b, _ := json.Marshal(Presence{Node: node, Since: since})
	for attempt := 0; ; attempt++ {
		p, rev, err := s.presenceOf(ctx, deviceID)
		if err != nil {
			return err
		}
		if rev != 0 {
			if p.Node == node && p.Since.Equal(since) {
				return nil
			}
			if p.Node != node && p.Since.After(since) {
				_, live, err := s.node(ctx, p.Node)
				if err != nil || live {
					return err
				}
			}
		}
		if rev == 0 {
			_, err = s.presence.Create(ctx, deviceID, b)
		} else {
			_, err = s.presence.Update(ctx, deviceID, b, rev)
		}
		if err == nil {
			return nil
		}
		if !casConflict(err) || !casRetry(ctx, attempt) {
			return fmt.Errorf("store: presence of %s: %w", deviceID, err)
		}
	}
}

// WatchPresence starts watching the presence entries: run, until ctx
// ends or the watch fails (its error; nil when ctx ended), calls changed
// for each entry written (p, true) or removed (ok false) since
// WatchPresence returned.
func (s *Store) WatchPresence(ctx context.Context, changed func(deviceID string, p Presence, ok bool)) (run func() error, err error) {
	w, err := s.presence.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		return nil, fmt.Errorf("store: presence watch: %w", err)
	}
	return func() error {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return nil
			case e, ok := <-w.Updates():
				if !ok {
					if ctx.Err() != nil {
						return nil
					}
					return errors.New("store: presence watch ended")
				}
				if e == nil {
					continue
				}
				var p Presence
				put := e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &p) == nil
				changed(e.Key(), p, put)
			}
		}
	}, nil
}

// ClearPresence removes deviceID's presence if it still names node (its
// link there went down): compare-and-delete on the entry's revision, so a
// link that has meanwhile come up on another node keeps its presence.
func (s *Store) ClearPresence(ctx context.Context, deviceID, node string) error {
	if err := checkSid(deviceID); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		p, rev, err := s.presenceOf(ctx, deviceID)
		if err != nil || rev == 0 || p.Node != node {
			return err
		}
		err = s.presence.Delete(ctx, deviceID, jetstream.LastRevision(rev))
		if err == nil {
			return nil
		}
		if !casConflict(err) || !casRetry(ctx, attempt) {
			return fmt.Errorf("store: presence of %s: %w", deviceID, err)
		}
	}
}

// presenceOf reads deviceID's presence entry and its revision (0: none).
func (s *Store) presenceOf(ctx context.Context, deviceID string) (Presence, uint64, error) {
	e, err := s.presence.Get(ctx, deviceID)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Presence{}, 0, nil
	}
	if err != nil {
		return Presence{}, 0, fmt.Errorf("store: presence of %s: %w", deviceID, err)
	}
	var p Presence
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return Presence{}, 0, fmt.Errorf("store: presence of %s: %w", deviceID, err)
	}
	return p, e.Revision(), nil
}

// DevicePresence says which live node holds deviceID's link; ok is false
// when none does: no presence, or a stale one naming a node no longer in
// the registry (killed without clearing it).
func (s *Store) DevicePresence(ctx context.Context, deviceID string) (p Presence, ok bool, err error) {
	if err := checkSid(deviceID); err != nil {
		return Presence{}, false, err
	}
	p, rev, err := s.presenceOf(ctx, deviceID)
	if err != nil || rev == 0 {
		return Presence{}, false, err
	}
	_, live, err := s.node(ctx, p.Node)
	if err != nil || !live {
		return Presence{}, false, err
	}
	return p, true, nil
}

// presenceReaders bounds the presence reads Presences makes at once.
const presenceReaders = 32

// Presences says which live node holds the link of each of deviceIDs
// (one page of the REST API's device list): the devices with no live
// holder are absent from the map. It reads the node registry once and
// the presences at most presenceReaders at a time.
func (s *Store) Presences(ctx context.Context, deviceIDs []string) (map[string]Presence, error) {
	for _, id := range deviceIDs {
		if err := checkSid(id); err != nil {
			return nil, err
		}
	}
	if len(deviceIDs) == 1 { // two reads, not a listing of the registry
		p, ok, err := s.DevicePresence(ctx, deviceIDs[0])
		if err != nil || !ok {
			return map[string]Presence{}, err
		}
		return map[string]Presence{deviceIDs[0]: p}, nil
	}
	nodes, err := s.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		return map[string]Presence{}, err
	}
	live := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		live[n.Name] = true
	}
	var (
		mu    sync.Mutex
		out   = make(map[string]Presence)
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, presenceReaders)
	)
	for _, id := range deviceIDs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			p, rev, err := s.presenceOf(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if first == nil {
					first = err
				}
			case rev != 0 && live[p.Node]:
				out[id] = p
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}
