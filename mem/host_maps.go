package mem

import (
	"bytes"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// hostMapping is one line of /proc/self/maps: [start, end) and whether it
// may be read and written.
type hostMapping struct {
	start, end uint64
	read       bool
	write      bool
}

// hostMaps caches the process's mappings, sorted by start address.
type hostMaps struct {
	cur atomic.Pointer[[]hostMapping] // nil: not read yet, or invalidated
	gen atomic.Uint64                 // bumped by every re-read

	mu sync.Mutex // serialises re-reads
}

// lookup classifies an access of [a, a+n): 0 if allowed, else the fault
// kind. A refusal from the cache is confirmed with fresh mappings first.
func (m *hostMaps) lookup(a Addr, n uint64, write bool) FaultKind {
	gen := m.gen.Load()
	if p := m.cur.Load(); p != nil {
		if kind := classify(*p, uint64(a), n, write); kind == 0 {
			return 0
		}
	}
	return classify(m.reload(gen), uint64(a), n, write)
}

// reload re-reads the mappings unless another caller already did so since
// generation seen was current, and returns the fresh list.
func (m *hostMaps) reload(seen uint64) []hostMapping {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.cur.Load(); p != nil && m.gen.Load() != seen {
		return *p
	}
	maps := readHostMaps()
	m.cur.Store(&maps)
	m.gen.Add(1)
	return maps
}

func (m *hostMaps) invalidate() {
	m.mu.Lock()
	m.cur.Store(nil)
	m.gen.Add(1)
	m.mu.Unlock()
}

// classify checks [a, a+n) against maps: the range must be covered by
// contiguous readable (and, for a write, writable) mappings.
func classify(maps []hostMapping, a, n uint64, write bool) FaultKind {
	end := a + n
	i := sort.Search(len(maps), func(i int) bool { return maps[i].end > a })
	for p := a; p < end; i++ {
		if i >= len(maps) || maps[i].start > p || !maps[i].read {
			return Unmapped
		}
		if write && !maps[i].write {
			return ReadOnly
		}
		p = maps[i].end
	}
	return 0
}

// readHostMaps parses /proc/self/maps. If it cannot be read, the result is
// empty: every Check then faults, and copies still work (they do not
// consult the maps within a page).
func readHostMaps() []hostMapping {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil
	}
	return parseHostMaps(b)
}

// parseHostMaps parses lines of the form
// "7f12a000-7f12b000 rw-p 00000000 00:00 0   [stack]". Malformed lines are
// skipped.
func parseHostMaps(b []byte) []hostMapping {
	var maps []hostMapping
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		rng, rest, ok := bytes.Cut(line, []byte{' '})
		if !ok || len(rest) < 2 {
			continue
		}
		lo, hi, ok := bytes.Cut(rng, []byte{'-'})
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		maps = append(maps, hostMapping{start: start, end: end, read: rest[0] == 'r', write: rest[1] == 'w'})
	}
	sort.Slice(maps, func(i, j int) bool { return maps[i].start < maps[j].start })
	return maps
}
