package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/cloud/store"
)

// JSON shapes.

type configJSON struct {
	AccountSid  string `json:"account_sid,omitempty"`
	DeviceSid   string `json:"device_sid,omitempty"`
	Key         string `json:"key"`
	Value       string `json:"value"`
	DateCreated string `json:"date_created"`
	DateUpdated string `json:"date_updated"`
	URL         string `json:"url"`
}

// secretJSON is all the API shows of a secret: never its value.
type secretJSON struct {
	AccountSid  string `json:"account_sid,omitempty"`
	DeviceSid   string `json:"device_sid,omitempty"`
	Key         string `json:"key"`
	DateRotated string `json:"date_rotated"`
	URL         string `json:"url"`
}

type deviceJSON struct {
	Sid            string            `json:"sid"`
	UniqueName     *string           `json:"unique_name"`
	AccountSid     string            `json:"account_sid"`
	LoggingEnabled bool              `json:"logging_enabled"`
	DateCreated    string            `json:"date_created"`
	DateUpdated    string            `json:"date_updated"`
	URL            string            `json:"url"`
	Links          map[string]string `json:"links"`
	// Connected says whether the device's link is up (on any node of a
	// cluster); Node names the node holding it ("" when offline or when
	// the cloud is a lone node); ConnectedSince is when it came up there
	// (null when offline or unknown: a lone node does not say).
	Connected      bool    `json:"connected"`
	Node           string  `json:"node"`
	ConnectedSince *string `json:"connected_since"`
}

type metaJSON struct {
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	FirstPageURL    string  `json:"first_page_url"`
	PreviousPageURL *string `json:"previous_page_url"`
	NextPageURL     *string `json:"next_page_url"`
	URL             string  `json:"url"`
	Key             string  `json:"key"`
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// scopePath is the collection path of a's configs or secrets, with the
// device given by its SID.
func scopePath(a args, sid string) []string {
	name := "Configs"
	if a.secret {
		name = "Secrets"
	}
	if sid == "" {
		return []string{"v1", name}
	}
	return []string{"v1", "Devices", sid, name}
}

func (h *handler) configJSON(r *http.Request, a args, sid string, c store.Config) configJSON {
	j := configJSON{Key: c.Key, Value: string(c.Value), DateCreated: date(c.DateCreated), DateUpdated: date(c.DateUpdated),
		URL: h.resourceURL(r, append(scopePath(a, sid), c.Key)...)}
	if sid == "" {
		j.AccountSid = a.account
	} else {
		j.DeviceSid = sid
	}
	return j
}

func (h *handler) secretJSON(r *http.Request, a args, sid string, s store.SecretInfo) secretJSON {
	j := secretJSON{Key: s.Key, DateRotated: date(s.DateRotated), URL: h.resourceURL(r, append(scopePath(a, sid), s.Key)...)}
	if sid == "" {
		j.AccountSid = a.account
	} else {
		j.DeviceSid = sid
	}
	return j
}

func (h *handler) deviceJSON(r *http.Request, a args, d store.Device) deviceJSON {
	j := deviceJSON{
		Sid:            d.Sid,
		AccountSid:     a.account,
		LoggingEnabled: d.LoggingEnabled,
		DateCreated:    date(d.DateCreated),
		DateUpdated:    date(d.DateUpdated),
		URL:            h.resourceURL(r, "v1", "Devices", d.Sid),
		Links: map[string]string{
			"device_configs": h.resourceURL(r, "v1", "Devices", d.Sid, "Configs"),
			"device_secrets": h.resourceURL(r, "v1", "Devices", d.Sid, "Secrets"),
			"logs_stream":    h.resourceURL(r, "v1", "Devices", d.Sid, "Logs", "Stream"),
		},
	}
	if d.UniqueName != "" {
		name := d.UniqueName
		j.UniqueName = &name
	}
	return j
}

// Input.

// query returns the URL query parameters, refusing names not in allowed and
// repeated ones.
func query(r *http.Request, allowed ...string) (map[string]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badParam("", "the query string is malformed: %v", err)
	}
	return single(q, allowed)
}

// form parses an application/x-www-form-urlencoded body, refusing names not
// in allowed and repeated ones. Query parameters are not form fields.
func form(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]string, error) {
	v, err := formValues(w, r)
	if err != nil {
		return nil, err
	}
	return single(v, allowed)
}

// formValues parses an application/x-www-form-urlencoded body (at most
// MaxBodyBytes) and returns its fields, whatever their names.
func formValues(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.URL.RawQuery != "" {
		return nil, badParam("", "parameters go in the form body, not the query string")
	}
	if r.ContentLength != 0 {
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if ct == "" || err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, errorf(http.StatusUnsupportedMediaType, "", "the body must be application/x-www-form-urlencoded (got %q)", ct)
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "", "the body must be at most %d bytes", MaxBodyBytes)
		}
		return nil, badParam("", "the form body is malformed: %v", err)
	}
	return r.PostForm, nil
}

func single(v url.Values, allowed []string) (map[string]string, error) {
	out := make(map[string]string, len(v))
	for name, vals := range v {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			if len(allowed) == 0 {
				return nil, badParam(name, "is not a parameter of this endpoint (it takes none)")
			}
			return nil, badParam(name, "is not a parameter of this endpoint (it takes %s)", strings.Join(allowed, ", "))
		}
		if len(vals) != 1 {
			return nil, badParam(name, "must be given once")
		}
		out[name] = vals[0]
	}
	return out, nil
}

// page reads PageSize, Page and PageToken.
func page(q map[string]string) (store.Page, int, error) {
	var p store.Page
	if s, ok := q["PageSize"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageSize {
			return p, 0, badParam("PageSize", "must be an integer from 1 to %d", store.MaxPageSize)
		}
		p.Size = n
	}
	num := 0
	if s, ok := q["Page"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, 0, badParam("Page", "must be a non-negative integer")
		}
		num = n
	}
	p.Token = q["PageToken"]
	if _, ok := q["PageToken"]; ok && p.Token == "" {
		return p, 0, badParam("PageToken", "must not be empty")
	}
	if p.Token == "" && num != 0 {
		return p, 0, badParam("Page", "must be 0 without a PageToken")
	}
	return p, num, nil
}

func (h *handler) meta(r *http.Request, segs []string, key string, num, size int, token, next, prev string) metaJSON {
	u := func(num int, token string) string {
		v := url.Values{"PageSize": {strconv.Itoa(size)}, "Page": {strconv.Itoa(num)}}
		if token != "" {
			v.Set("PageToken", token)
		}
		return h.resourceURL(r, segs...) + "?" + v.Encode()
	}
	m := metaJSON{Page: num, PageSize: size, FirstPageURL: u(0, ""), URL: u(num, token), Key: key}
	if next != "" {
		s := u(num+1, next)
		m.NextPageURL = &s
	}
	if prev != "" {
		s := u(max(num-1, 0), prev)
		m.PreviousPageURL = &s
	}
	return m
}

// resolve turns the {DeviceSid} of a device-scoped path into the device's
// SID; "" stays the account scope. SID-shaped input is passed on as it is
// (the store reports an unknown one); anything else is a UniqueName.
func (h *handler) resolve(r *http.Request, a args) (string, error) {
	if a.device == "" || devid.Check(a.device) == nil {
		return a.device, nil
	}
	d, err := h.st.GetDevice(r.Context(), a.device)
	if err != nil {
		return "", err
	}
	return d.Sid, nil
}

func scope(sid string) store.Scope {
	if sid == "" {
		return store.AccountScope
	}
	return store.DeviceScope(sid)
}

func checkValue(v string) error {
	if !utf8.ValidString(v) {
		return badParam("Value", "must be valid UTF-8")
	}
	return store.CheckValue([]byte(v))
}

// listPage reads a list request's query: only PageSize, Page and
// PageToken are allowed.
func listPage(r *http.Request) (store.Page, int, error) {
	q, err := query(r, "PageSize", "Page", "PageToken")
	if err != nil {
		return store.Page{}, 0, err
	}
	return page(q)
}

// Configs and secrets.

func listItems(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	p, num, err := listPage(r)
	if err != nil {
		return err
	}
	sid, err := h.resolve(r, a)
	if err != nil {
		return err
	}
	segs := scopePath(a, sid)
	if a.secret {
		l, err := h.st.ListSecrets(r.Context(), scope(sid), p)
		if err != nil {
			return err
		}
		items := make([]secretJSON, 0, len(l.Items))
		for _, s := range l.Items {
			items = append(items, h.secretJSON(r, a, sid, s))
		}
		writeJSON(w, http.StatusOK, map[string]any{"secrets": items, "meta": h.meta(r, segs, "secrets", num, l.PageSize, p.Token, l.Next, l.Prev)})
		return nil
	}
	l, err := h.st.ListConfigs(r.Context(), scope(sid), p)
	if err != nil {
		return err
	}
	items := make([]configJSON, 0, len(l.Items))
	for _, c := range l.Items {
		items = append(items, h.configJSON(r, a, sid, c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"configs": items, "meta": h.meta(r, segs, "configs", num, l.PageSize, p.Token, l.Next, l.Prev)})
	return nil
}

func createItem(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	f, err := form(w, r, "Key", "Value")
	if err != nil {
		return err
	}
	key, ok := f["Key"]
	if !ok {
		return badParam("Key", "is required")
	}
	if err := store.CheckKey(key); err != nil {
		return err
	}
	value, ok := f["Value"]
	if !ok {
		return badParam("Value", "is required")
	}
	if err := checkValue(value); err != nil {
		return err
	}
	return h.put(w, r, a, key, value, store.CreateOnly, http.StatusCreated)
}

func updateItem(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	f, err := form(w, r, "Value")
	if err != nil {
		return err
	}
	if err := store.CheckKey(a.key); err != nil {
		return err
	}
	value, ok := f["Value"]
	if !ok {
		return badParam("Value", "is required")
	}
	if err := checkValue(value); err != nil {
		return err
	}
	return h.put(w, r, a, a.key, value, store.UpdateOnly, http.StatusOK)
}

func (h *handler) put(w http.ResponseWriter, r *http.Request, a args, key, value string, mode store.PutMode, status int) error {
	sid, err := h.resolve(r, a)
	if err != nil {
		return err
	}
	if a.secret {
		s, err := h.st.PutSecret(r.Context(), scope(sid), key, []byte(value), mode)
		if err != nil {
			return err
		}
		writeJSON(w, status, h.secretJSON(r, a, sid, s))
		return nil
	}
	c, err := h.st.PutConfig(r.Context(), scope(sid), key, []byte(value), mode)
	if err != nil {
		return err
	}
	writeJSON(w, status, h.configJSON(r, a, sid, c))
	return nil
}

func getItem(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	if _, err := query(r); err != nil {
		return err
	}
	sid, err := h.resolve(r, a)
	if err != nil {
		return err
	}
	if a.secret {
		s, err := h.st.GetSecret(r.Context(), scope(sid), a.key)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, h.secretJSON(r, a, sid, s))
		return nil
	}
	c, err := h.st.GetConfig(r.Context(), scope(sid), a.key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.configJSON(r, a, sid, c))
	return nil
}

func deleteItem(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	if _, err := query(r); err != nil {
		return err
	}
	sid, err := h.resolve(r, a)
	if err != nil {
		return err
	}
	if a.secret {
		err = h.st.DeleteSecret(r.Context(), scope(sid), a.key)
	} else {
		err = h.st.DeleteConfig(r.Context(), scope(sid), a.key)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Devices.

func listDevices(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	p, num, err := listPage(r)
	if err != nil {
		return err
	}
	l, err := h.st.ListDevices(r.Context(), p)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(l.Items))
	for _, d := range l.Items {
		ids = append(ids, d.Sid)
	}
	links, err := h.links(r.Context(), ids)
	if err != nil {
		return err
	}
	items := make([]deviceJSON, 0, len(l.Items))
	for _, d := range l.Items {
		j := h.deviceJSON(r, a, d)
		lp, up := links[d.Sid]
		setLink(&j, lp, up)
		items = append(items, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": items, "meta": h.meta(r, []string{"v1", "Devices"}, "devices", num, l.PageSize, p.Token, l.Next, l.Prev)})
	return nil
}

func getDevice(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	if _, err := query(r); err != nil {
		return err
	}
	d, err := h.st.GetDevice(r.Context(), a.device)
	if err != nil {
		return err
	}
	j, err := h.linkedDeviceJSON(r, a, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// parseBool takes "true" or "false" in any case, as Twilio's API does.
func parseBool(field, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badParam(field, "must be true or false")
}

func updateDevice(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	f, err := form(w, r, "UniqueName", "LoggingEnabled")
	if err != nil {
		return err
	}
	var name *string
	if s, ok := f["UniqueName"]; ok {
		if s != "" {
			if err := store.CheckUniqueName(s); err != nil {
				return err
			}
		}
		name = &s
	}
	var logging *bool
	if s, ok := f["LoggingEnabled"]; ok {
		b, err := parseBool("LoggingEnabled", s)
		if err != nil {
			return err
		}
		logging = &b
	}
	d, err := h.st.GetDevice(r.Context(), a.device)
	if err != nil {
		return err
	}
	if name != nil || logging != nil {
		if d, err = h.st.UpdateDevice(r.Context(), d.Sid, name, logging); err != nil {
			return err
		}
	}
	if logging != nil && h.cloud != nil {
		// Pushed whenever LoggingEnabled is given, with the value just
		// stored: idempotent for the device, and no lost change when two
		// updates race.
		h.cloud.SetLogging(d.Sid, d.LoggingEnabled)
	}
	j, err := h.linkedDeviceJSON(r, a, d)
	if err != nil {
		// The update is done: answer it, without the link's state.
		h.log.Warn("device updated, its link's state unknown", "device", d.Sid, "err", err)
		j = h.deviceJSON(r, a, d)
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// createDevice registers a device (form: optional UniqueName, optional
// DeviceId, else a new random one) and answers 201 with the device and its
// credential bundle from Options.IssueDevice. The bundle holds the device's
// private key: it is returned this once and never stored by the API.
func createDevice(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	f, err := form(w, r, "UniqueName", "DeviceId")
	if err != nil {
		return err
	}
	name, hasName := f["UniqueName"]
	if hasName {
		if err := store.CheckUniqueName(name); err != nil {
			return err
		}
	}
	id, hasID := f["DeviceId"]
	if hasID {
		if devid.Check(id) != nil {
			return badParam("DeviceId", "must be UV followed by 32 hex digits")
		}
	} else {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		id = "UV" + hex.EncodeToString(b[:])
	}
	if h.issue == nil {
		return errorf(http.StatusNotImplemented, "", "this cloud cannot issue device credentials through the API (no device CA): create devices with 'mvnet device create --data-dir DIR' on the cloud's data directory")
	}
	// Refuse conflicts before writing anything.
	if _, err := h.st.GetDevice(r.Context(), id); err == nil {
		return errorf(http.StatusConflict, "DeviceId", "a device %s is already registered", id)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if hasName {
		if _, err := h.st.GetDevice(r.Context(), name); err == nil {
			return errorf(http.StatusConflict, "UniqueName", "must be unique: %q is taken", name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	// All or nothing: a create that loses a race for the name registers
	// nothing (store.CreateDevice), and one whose bundle cannot be issued
	// is deleted again.
	d, err := h.st.CreateDevice(r.Context(), id, name)
	if err != nil {
		return err
	}
	bundle, err := h.issue(r.Context(), id)
	if err == nil && !json.Valid(bundle) {
		err = errors.New("the bundle is not JSON")
	}
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		defer cancel()
		if _, derr := h.st.DeleteDevice(rctx, id); derr != nil {
			h.log.Error("could not remove a device whose credentials failed", "device", id, "err", derr)
		}
		return fmt.Errorf("issuing device %s's credentials: %w", id, err)
	}
	writeJSON(w, http.StatusCreated, struct {
		Device deviceJSON      `json:"device"`
		Bundle json.RawMessage `json:"bundle"`
	}{h.deviceJSON(r, a, d), bundle})
	return nil
}

// deleteDevice removes a device (by SID or UniqueName) with its configs,
// secrets and logs (store.DeleteDevice). The cloud watches the registry, so
// the device's live link is dropped and its certificate refused from then
// on.
func deleteDevice(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	if _, err := query(r); err != nil {
		return err
	}
	if _, err := h.st.DeleteDevice(r.Context(), a.device); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateToken serves POST /v1/AuthToken: the account gets a new auth token
// (store.RotateToken), answered this once; the old one stops working at
// once, on every node (the credential cache checks the account's
// revision).
func rotateToken(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	sid, token, err := h.st.RotateToken(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		AccountSid string `json:"account_sid"`
		AuthToken  string `json:"auth_token"`
	}{sid, token})
	return nil
}
