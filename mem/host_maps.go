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
	cur atomic.Pointer[mapsSnapshot] // nil: not read yet, or invalidated
	gen atomic.Uint64                // bumped by every re-read

	mu sync.Mutex // serialises re-reads
}

// mapsSnapshot is one reading of /proc/self/maps. last is the readable
// mapping above HostMinAddr that last answered a lookup (nil: none yet): a
// system call's arguments are usually in the same mapping as the previous
// call's (the application's stack, its data), and Check tries it before
// anything else. It belongs to the snapshot, so a re-read or Invalidate
// drops it too.
type mapsSnapshot struct {
	maps []hostMapping
	last atomic.Pointer[hostMapping] // an element of maps
}

// lookup classifies an access of [a, a+n): 0 if allowed, else the fault
// kind. A refusal from the cache is confirmed with fresh mappings first.
func (m *hostMaps) lookup(a Addr, n uint64, write bool) FaultKind {
	gen := m.gen.Load()
	if p := m.cur.Load(); p != nil {
		if kind := p.classify(uint64(a), n, write); kind == 0 {
			return 0
		}
	}
	return m.reload(gen).classify(uint64(a), n, write)
}

// hit reports whether [a, a+n) is allowed by the mapping that answered the
// last lookup — the common case, small enough to inline into Check. false
// means only "not decided here": lookup decides.
func (m *hostMaps) hit(a Addr, n uint64, write bool) bool {
	p := m.cur.Load()
	if p == nil {
		return false
	}
	mp := p.last.Load() // readable, above HostMinAddr
	if mp == nil {
		return false
	}
	x := uint64(a)
	// start <= x < end, and n-1 < end-x: n > 0, no wrap, not past the end.
	return x-mp.start < mp.end-mp.start && n-1 < mp.end-x && (mp.write || !write)
}

// classify is classify over the snapshot, remembering the mapping that
// holds a for hit.
func (s *mapsSnapshot) classify(a, n uint64, write bool) FaultKind {
	i := firstEndingAfter(s.maps, a)
	if i < len(s.maps) {
		if mp := &s.maps[i]; mp.read && mp.start >= uint64(HostMinAddr) && a >= mp.start {
			s.last.Store(mp)
		}
	}
	return classifyFrom(s.maps, i, a, n, write)
}

// reload re-reads the mappings unless another caller already did so since
// generation seen was current, and returns the fresh snapshot.
func (m *hostMaps) reload(seen uint64) *mapsSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.cur.Load(); p != nil && m.gen.Load() != seen {
		return p
	}
	p := &mapsSnapshot{maps: readHostMaps()}
	m.cur.Store(p)
	m.gen.Add(1)
	return p
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
	return classifyFrom(maps, firstEndingAfter(maps, a), a, n, write)
}

// firstEndingAfter is the index of the first mapping that ends after a
// (len(maps) if none): the only one that can hold a. A binary search
// written out, as every system call's pointer checks run it.
func firstEndingAfter(maps []hostMapping, a uint64) int {
	lo, hi := 0, len(maps)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if maps[mid].end > a {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// classifyFrom is classify given i, the first mapping ending after a.
func classifyFrom(maps []hostMapping, i int, a, n uint64, write bool) FaultKind {
	end := a + n
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
