package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Fault is a fault applied to a device (/v1/Devices/{Sid}/Faults).
// Parameters are keyed by their names in docs/fault-injection.md; Spec is
// the fault as `mvnet fault apply` takes it; Status is "active" while it is
// in force, "done" for a one-shot fault whose action is over.
type Fault struct {
	Sid        string            `json:"sid"`
	DeviceSid  string            `json:"device_sid"`
	Kind       string            `json:"kind"`
	Spec       string            `json:"spec"`
	Parameters map[string]string `json:"parameters"`
	Status     string            `json:"status"`
	Applied    string            `json:"applied"`
	Ends       string            `json:"ends,omitempty"`
	URL        string            `json:"url"`
}

func faultsPath(device string, more ...string) []string {
	return append([]string{"v1", "Devices", device, "Faults"}, more...)
}

// ListFaults returns the faults in force on the device (SID or
// UniqueName), oldest first.
func (c *Client) ListFaults(ctx context.Context, device string) ([]Fault, error) {
	var all []Fault
	err := c.list(ctx, c.url(faultsPath(device)...), func(b []byte) (meta, error) {
		var page struct {
			Faults []Fault `json:"faults"`
			Meta   meta    `json:"meta"`
		}
		err := json.Unmarshal(b, &page)
		all = append(all, page.Faults...)
		return page.Meta, err
	})
	return all, err
}

// GetFault fetches one fault in force; a fault not in force is a 404
// *Error.
func (c *Client) GetFault(ctx context.Context, device, sid string) (Fault, error) {
	var out Fault
	err := c.do(ctx, http.MethodGet, c.url(faultsPath(device, sid)...), nil, &out)
	return out, err
}

// ApplyFault applies a fault of kind with params (the parameter names of
// docs/fault-injection.md, e.g. "period": "2s", "for": "10s"). A bad kind or
// parameter is a 400 *Error naming it; a one-shot fault that cannot act
// (the device is not connected) is a 409.
func (c *Client) ApplyFault(ctx context.Context, device, kind string, params map[string]string) (Fault, error) {
	form := url.Values{"Kind": {kind}}
	for k, v := range params {
		form.Set(k, v)
	}
	var out Fault
	err := c.do(ctx, http.MethodPost, c.url(faultsPath(device)...), form, &out)
	return out, err
}

// ClearFault clears one fault in force; one not in force is a 404 *Error.
func (c *Client) ClearFault(ctx context.Context, device, sid string) error {
	return c.do(ctx, http.MethodDelete, c.url(faultsPath(device, sid)...), nil, nil)
}

// ClearFaults clears every fault in force on the device, or only those of
// kind when it is not "", and returns how many it cleared.
func (c *Client) ClearFaults(ctx context.Context, device, kind string) (int, error) {
	u := c.url(faultsPath(device)...)
	if kind != "" {
		u += "?" + url.Values{"Kind": {kind}}.Encode()
	}
	var out struct {
		Cleared int `json:"cleared"`
	}
	err := c.do(ctx, http.MethodDelete, u, nil, &out)
	return out.Cleared, err
}
