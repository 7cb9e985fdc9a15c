package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Config is a config value, in account scope (AccountSid set) or device
// scope (DeviceSid set). Dates are RFC 3339 as the API gives them.
type Config struct {
	AccountSid  string `json:"account_sid,omitempty"`
	DeviceSid   string `json:"device_sid,omitempty"`
	Key         string `json:"key"`
	Value       string `json:"value"`
	DateCreated string `json:"date_created"`
	DateUpdated string `json:"date_updated"`
	URL         string `json:"url"`
}

// Secret is what the API shows of a secret: never its value.
type Secret struct {
	AccountSid  string `json:"account_sid,omitempty"`
	DeviceSid   string `json:"device_sid,omitempty"`
	Key         string `json:"key"`
	DateRotated string `json:"date_rotated"`
	URL         string `json:"url"`
}

// Device is a registered device.
type Device struct {
	Sid            string            `json:"sid"`
	UniqueName     *string           `json:"unique_name"`
	AccountSid     string            `json:"account_sid"`
	LoggingEnabled bool              `json:"logging_enabled"`
	DateCreated    string            `json:"date_created"`
	DateUpdated    string            `json:"date_updated"`
	URL            string            `json:"url"`
	Links          map[string]string `json:"links,omitempty"`
}

// Name is the device's UniqueName, "" without one.
func (d Device) Name() string {
	if d.UniqueName == nil {
		return ""
	}
	return *d.UniqueName
}

// collection is the path of the configs or secrets of a scope: device ""
// is the account scope, else a device SID or UniqueName.
func (c *Client) collection(device, name string) []string {
	if device == "" {
		return []string{"v1", name}
	}
	return []string{"v1", "Devices", device, name}
}

// Configs.

// ListConfigs returns every config of the scope (all pages), sorted by key.
func (c *Client) ListConfigs(ctx context.Context, device string) ([]Config, error) {
	var all []Config
	err := c.list(ctx, c.url(c.collection(device, "Configs")...), func(b []byte) (meta, error) {
		var page struct {
			Configs []Config `json:"configs"`
			Meta    meta     `json:"meta"`
		}
		err := json.Unmarshal(b, &page)
		all = append(all, page.Configs...)
		return page.Meta, err
	})
	return all, err
}

// GetConfig fetches one config.
func (c *Client) GetConfig(ctx context.Context, device, key string) (Config, error) {
	var out Config
	err := c.do(ctx, http.MethodGet, c.url(append(c.collection(device, "Configs"), key)...), nil, &out)
	return out, err
}

// CreateConfig creates a config; an existing key is a 409 *Error.
func (c *Client) CreateConfig(ctx context.Context, device, key, value string) (Config, error) {
	var out Config
	err := c.do(ctx, http.MethodPost, c.url(c.collection(device, "Configs")...), url.Values{"Key": {key}, "Value": {value}}, &out)
	return out, err
}

// UpdateConfig changes an existing config; a missing key is a 404 *Error.
func (c *Client) UpdateConfig(ctx context.Context, device, key, value string) (Config, error) {
	var out Config
	err := c.do(ctx, http.MethodPost, c.url(append(c.collection(device, "Configs"), key)...), url.Values{"Value": {value}}, &out)
	return out, err
}

// SetConfig creates the config or, when the key exists, updates it.
// created reports which.
func (c *Client) SetConfig(ctx context.Context, device, key, value string) (cfg Config, created bool, err error) {
	cfg, err = c.CreateConfig(ctx, device, key, value)
	if err == nil {
		return cfg, true, nil
	}
	if !IsStatus(err, http.StatusConflict) {
		return cfg, false, err
	}
	cfg, err = c.UpdateConfig(ctx, device, key, value)
	return cfg, false, err
}

// DeleteConfig deletes a config; a missing key is a 404 *Error.
func (c *Client) DeleteConfig(ctx context.Context, device, key string) error {
	return c.do(ctx, http.MethodDelete, c.url(append(c.collection(device, "Configs"), key)...), nil, nil)
}

// Secrets.

// ListSecrets returns every secret of the scope (keys and rotation dates).
func (c *Client) ListSecrets(ctx context.Context, device string) ([]Secret, error) {
	var all []Secret
	err := c.list(ctx, c.url(c.collection(device, "Secrets")...), func(b []byte) (meta, error) {
		var page struct {
			Secrets []Secret `json:"secrets"`
			Meta    meta     `json:"meta"`
		}
		err := json.Unmarshal(b, &page)
		all = append(all, page.Secrets...)
		return page.Meta, err
	})
	return all, err
}

// GetSecret fetches a secret's metadata.
func (c *Client) GetSecret(ctx context.Context, device, key string) (Secret, error) {
	var out Secret
	err := c.do(ctx, http.MethodGet, c.url(append(c.collection(device, "Secrets"), key)...), nil, &out)
	return out, err
}

// SetSecret creates the secret or, when the key exists, rotates it.
func (c *Client) SetSecret(ctx context.Context, device, key, value string) (s Secret, created bool, err error) {
	err = c.do(ctx, http.MethodPost, c.url(c.collection(device, "Secrets")...), url.Values{"Key": {key}, "Value": {value}}, &s)
	if err == nil {
		return s, true, nil
	}
	if !IsStatus(err, http.StatusConflict) {
		return s, false, err
	}
	err = c.do(ctx, http.MethodPost, c.url(append(c.collection(device, "Secrets"), key)...), url.Values{"Value": {value}}, &s)
	return s, false, err
}

// DeleteSecret deletes a secret; a missing key is a 404 *Error.
func (c *Client) DeleteSecret(ctx context.Context, device, key string) error {
	return c.do(ctx, http.MethodDelete, c.url(append(c.collection(device, "Secrets"), key)...), nil, nil)
}

// Devices.

// ListDevices returns every device of the account, sorted by SID.
func (c *Client) ListDevices(ctx context.Context) ([]Device, error) {
	var all []Device
	err := c.list(ctx, c.url("v1", "Devices"), func(b []byte) (meta, error) {
		var page struct {
			Devices []Device `json:"devices"`
			Meta    meta     `json:"meta"`
		}
		err := json.Unmarshal(b, &page)
		all = append(all, page.Devices...)
		return page.Meta, err
	})
	return all, err
}

// GetDevice fetches a device by SID or UniqueName.
func (c *Client) GetDevice(ctx context.Context, sidOrName string) (Device, error) {
	var out Device
	err := c.do(ctx, http.MethodGet, c.url("v1", "Devices", sidOrName), nil, &out)
	return out, err
}

// DeviceUpdate is what UpdateDevice changes; nil fields stay as they are.
// An empty UniqueName removes the name.
type DeviceUpdate struct {
	UniqueName     *string
	LoggingEnabled *bool
}

// UpdateDevice changes a device (by SID or UniqueName) and returns it.
func (c *Client) UpdateDevice(ctx context.Context, sidOrName string, u DeviceUpdate) (Device, error) {
	form := url.Values{}
	if u.UniqueName != nil {
		form.Set("UniqueName", *u.UniqueName)
	}
	if u.LoggingEnabled != nil {
		form.Set("LoggingEnabled", strconv.FormatBool(*u.LoggingEnabled))
	}
	var out Device
	err := c.do(ctx, http.MethodPost, c.url("v1", "Devices", sidOrName), form, &out)
	return out, err
}

// DeleteDevice deletes a device (by SID or UniqueName) with its configs,
// secrets and logs; the cloud drops its link and refuses its certificate
// from then on. A missing device is a 404 *Error.
func (c *Client) DeleteDevice(ctx context.Context, sidOrName string) error {
	return c.do(ctx, http.MethodDelete, c.url("v1", "Devices", sidOrName), nil, nil)
}

// NewDevice is what CreateDevice registers; empty fields are left to the
// cloud (no UniqueName; a new random device ID).
type NewDevice struct {
	UniqueName string
	DeviceID   string
}

// CreatedDevice is CreateDevice's answer: the device, and its credential
// bundle as the cloud issued it (device.Bundle as JSON). The bundle holds
// the device's private key and is given this once: the cloud keeps no copy.
type CreatedDevice struct {
	Device Device          `json:"device"`
	Bundle json.RawMessage `json:"bundle"`
}

// CreateDevice registers a device (POST /v1/Devices) and returns it with its
// credential bundle.
func (c *Client) CreateDevice(ctx context.Context, n NewDevice) (CreatedDevice, error) {
	form := url.Values{}
	if n.UniqueName != "" {
		form.Set("UniqueName", n.UniqueName)
	}
	if n.DeviceID != "" {
		form.Set("DeviceId", n.DeviceID)
	}
	var out CreatedDevice
	if err := c.do(ctx, http.MethodPost, c.url("v1", "Devices"), form, &out); err != nil {
		return CreatedDevice{}, err
	}
	if len(out.Bundle) == 0 || string(out.Bundle) == "null" {
		return CreatedDevice{}, fmt.Errorf("cloud at %s: POST /v1/Devices: the answer holds no bundle", c.BaseURL)
	}
	return out, nil
}

// RotateToken gives the account a new auth token (POST /v1/AuthToken) and
// returns it; the token the client used stops working at once, so use a
// new Client with the returned one from now on.
func (c *Client) RotateToken(ctx context.Context) (accountSid, authToken string, err error) {
	var out struct {
		AccountSid string `json:"account_sid"`
		AuthToken  string `json:"auth_token"`
	}
	if err := c.do(ctx, http.MethodPost, c.url("v1", "AuthToken"), url.Values{}, &out); err != nil {
		return "", "", err
	}
	if out.AccountSid == "" || out.AuthToken == "" {
		return "", "", fmt.Errorf("cloud at %s: POST /v1/AuthToken: the answer holds no token", c.BaseURL)
	}
	return out.AccountSid, out.AuthToken, nil
}
