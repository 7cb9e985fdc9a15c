package api

import (
	"context"
	"net/http"

	"github.com/mvnet/mvnet/cloud/store"
)

// links says where the links of ids are: in a cluster from the store's
// presence (Options.Presence), alone from this cloud's own registry
// (Linker: connected, with no node name nor time).
func (h *handler) links(ctx context.Context, ids []string) (map[string]store.Presence, error) {
	if h.presence != nil {
		return h.presence.Presences(ctx, ids)
	}
	out := make(map[string]store.Presence)
	if h.linker == nil {
		return out, nil
	}
	for _, id := range ids {
		if h.linker.Connected(id) {
			out[id] = store.Presence{}
		}
	}
	return out, nil
}

// setLink fills j's link fields from the device's presence, if any.
func setLink(j *deviceJSON, p store.Presence, connected bool) {
	j.Connected = connected
	if !connected {
		return
	}
	j.Node = p.Node
	if !p.Since.IsZero() {
		s := date(p.Since)
		j.ConnectedSince = &s
	}
}

// linkedDeviceJSON is d's JSON with its link fields.
func (h *handler) linkedDeviceJSON(r *http.Request, a args, d store.Device) (deviceJSON, error) {
	links, err := h.links(r.Context(), []string{d.Sid})
	if err != nil {
		return deviceJSON{}, err
	}
	j := h.deviceJSON(r, a, d)
	p, up := links[d.Sid]
	setLink(&j, p, up)
	return j, nil
}
