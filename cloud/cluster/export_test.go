package cluster

// SetHooks replaces how m tells whether it holds a device's link, and
// hears of each presence written; call it before Start.
func SetHooks(m *Member, linked func(deviceID string) bool, wrote func(deviceID string)) {
	m.linked, m.wrote = linked, wrote
}
