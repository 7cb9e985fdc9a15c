package cluster

import "time"

// SetHooks replaces how m tells whether it holds a device's link, and
// hears of each presence written; call it before Start.
func SetHooks(m *Member, linked func(deviceID string) bool, wrote func(deviceID string)) {
	m.linked, m.wrote = linked, wrote
}

// SetWriting makes m call writing before each presence write, once the
// link's state is read; call it before Start.
func SetWriting(m *Member, writing func(deviceID string)) { m.writing = writing }

// SetTimeout replaces how long m waits for another node's answer.
func SetTimeout(m *Member, d time.Duration) { m.timeout = d }
