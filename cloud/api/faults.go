package api

// The Faults resource: the faults in force on a device (cloud/faults),
// applied, listed and cleared through the REST API, the door the CLI's
// `mvnet fault` commands use. docs/rest-api.md ("Faults") and
// docs/fault-injection.md describe it.

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/store"
)

// Faults is what the API uses of a fault injector; *faults.Injector (from
// (*cloud.Server).Faults()) satisfies it.
type Faults interface {
	Apply(deviceID string, s faults.Spec) (faults.Fault, error)
	Clear(deviceID, faultID string) error
	ClearAll(deviceID string, only ...faults.Kind) (int, error)
	List(deviceID string) []faults.Fault
}

// faultTime is the layout of the fault's times: RFC 3339 with always nine
// digits of fraction, so that the strings sort as the times do (RFC3339Nano
// drops trailing zeros: ".1Z" would sort after ".12Z").
const faultTime = "2006-01-02T15:04:05.000000000Z07:00"

// Linker is what a Faults also implements when it can tell whether the
// device's link is on this node (*faults.Injector does; a cluster's routed
// faults, cloud/cluster, tell whether it is on any node): a lasting fault
// applied to a device whose link is elsewhere (or nowhere) then carries a
// note saying it acts when the link comes to this node.
type Linker interface {
	Connected(deviceID string) bool
}

// notHere is the note of a fault on a device not connected to this node.
const notHere = "the device is not connected to this cloud node: the fault acts when the device's link comes to this node (in a cluster whose nodes have --node-name, when it is connected to no node)"

// faultJSON is a fault as the API shows it. Parameters are keyed by their
// names in docs/fault-injection.md (the names POST takes, the CLI's
// key=value names); Spec is the fault in the CLI's form.
type faultJSON struct {
	Sid        string            `json:"sid"`
	DeviceSid  string            `json:"device_sid"`
	Kind       string            `json:"kind"`
	Spec       string            `json:"spec"`
	Parameters map[string]string `json:"parameters"`
	// Status is "active" while the fault is in force, "done" for a
	// one-shot fault whose action is over.
	Status  string `json:"status"`
	Applied string `json:"applied"`
	Ends    string `json:"ends,omitempty"`
	URL     string `json:"url"`
	// Note, on POST, says the device's link is not on this node (Linker).
	Note string `json:"note,omitempty"`
}

func (h *handler) faultJSON(r *http.Request, f faults.Fault, status string) faultJSON {
	ends := ""
	if !f.Ends.IsZero() {
		ends = f.Ends.UTC().Format(faultTime)
	}
	return faultJSON{
		Sid:        f.ID,
		DeviceSid:  f.Device,
		Kind:       string(f.Spec.Kind),
		Spec:       f.Spec.String(),
		Parameters: specParameters(f.Spec),
		Status:     status,
		Applied:    f.Applied.UTC().Format(faultTime),
		Ends:       ends,
		URL:        h.resourceURL(r, "v1", "Devices", f.Device, "Faults", f.ID),
	}
}

// specParameters lists the parameters a spec sets, by their ParseSpec
// names, with values as ParseSpec reads them. It goes through the Spec's
// JSON form, whose field names are the parameter names (with "_" for "-"),
// so a parameter added to faults.Spec shows up here without a change.
func specParameters(s faults.Spec) map[string]string {
	out := map[string]string{}
	b, err := json.Marshal(s)
	if err != nil {
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return out
	}
	for k, raw := range m {
		if k == "kind" {
			continue
		}
		v := string(raw)
		var str string
		if json.Unmarshal(raw, &str) == nil {
			v = str
		}
		out[strings.ReplaceAll(k, "_", "-")] = v
	}
	return out
}

// paramName turns a form field's name into the ParseSpec name: the
// Twilio-style PascalCase ReasonCode is reason-code, URL is url; names
// already in ParseSpec's form (reason-code, reason_code) stay.
func paramName(field string) string {
	var b strings.Builder
	rs := []rune(field)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// noFaults is the answer when the API was built without Options.Faults.
func (h *handler) noFaults() error {
	if h.faults == nil {
		return errorf(http.StatusNotImplemented, "", "this API serves no faults (it runs without a cloud: api.Options.Faults is nil)")
	}
	return nil
}

// faultDevice resolves the path's device, which must be registered (by SID
// or UniqueName): 404 otherwise.
func (h *handler) faultDevice(r *http.Request, a args) (string, error) {
	if err := h.noFaults(); err != nil {
		return "", err
	}
	d, err := h.st.GetDevice(r.Context(), a.device)
	if err != nil {
		return "", err
	}
	return d.Sid, nil
}

// listFaults serves GET /v1/Devices/{Sid}/Faults: the faults in force,
// oldest first, paged like the other lists (the PageToken is an offset).
func listFaults(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	p, num, err := listPage(r)
	if err != nil {
		return err
	}
	sid, err := h.faultDevice(r, a)
	if err != nil {
		return err
	}
	size := p.Size
	if size == 0 {
		size = store.DefaultPageSize
	}
	lo := 0
	if p.Token != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(p.Token, "o"))
		if !strings.HasPrefix(p.Token, "o") || err != nil || n < 0 {
			return badParam("PageToken", "is not a token this API handed out")
		}
		lo = n
	}
	all := h.faults.List(sid)
	lo = min(lo, len(all))
	hi := min(lo+size, len(all))
	items := make([]faultJSON, 0, hi-lo)
	for _, f := range all[lo:hi] {
		items = append(items, h.faultJSON(r, f, "active"))
	}
	next, prev := "", ""
	if hi < len(all) {
		next = "o" + strconv.Itoa(hi)
	}
	if lo > 0 {
		prev = "o" + strconv.Itoa(max(lo-size, 0))
	}
	m := h.meta(r, []string{"v1", "Devices", sid, "Faults"}, "faults", num, size, p.Token, next, prev)
	writeJSON(w, http.StatusOK, map[string]any{"faults": items, "meta": m})
	return nil
}

// applyFault serves POST /v1/Devices/{Sid}/Faults: form field Kind and the
// kind's parameters (faults.ParseSpec names, or their PascalCase:
// ReasonCode=135, For=10s). It answers 201 with the fault; a one-shot fault
// has acted by then (status "done", or "active" while its action lasts),
// or the answer is 409 saying why it could not (the device is not
// connected, no such channel).
func applyFault(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	v, err := formValues(w, r)
	if err != nil {
		return err
	}
	fields := make([]string, 0, len(v))
	for name := range v {
		fields = append(fields, name)
	}
	slices.Sort(fields)
	f, err := single(v, fields)
	if err != nil {
		return err
	}
	kindField := "Kind"
	kind, ok := f["Kind"]
	if !ok {
		kindField = "kind"
		if kind, ok = f["kind"]; !ok {
			return badParam("Kind", "is required: the fault's kind (one of %s)", kindNames())
		}
	}
	params := make(map[string]string, len(f))
	from := make(map[string]string, len(f)) // ParseSpec name → form field
	for _, field := range fields {
		if field == kindField {
			continue
		}
		name := paramName(field)
		if prev, dup := from[name]; dup {
			return badParam(field, "gives parameter %s again (also given as %s)", name, prev)
		}
		params[name] = f[field]
		from[name] = field
	}
	spec, err := faults.ParseSpec(kind, params)
	if err != nil {
		return badParam(specErrorField(err, kind, kindField, from), "%s", err.Error())
	}
	sid, err := h.faultDevice(r, a)
	if err != nil {
		return err
	}
	fault, err := h.faults.Apply(sid, spec)
	if err != nil {
		return applyError(spec, err)
	}
	// A one-shot fault has acted when Apply returns; it stays in force
	// (listed, "active") only while its action lasts (cloud-restart: until
	// the link is accepted again).
	status := "active"
	if spec.Kind.OneShot() && !slices.ContainsFunc(h.faults.List(sid), func(x faults.Fault) bool { return x.ID == fault.ID }) {
		status = "done"
	}
	out := h.faultJSON(r, fault, status)
	if l, ok := h.faults.(Linker); ok && !spec.Kind.OneShot() && !l.Connected(fault.Device) {
		out.Note = notHere
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// specErrorField names the form field a ParseSpec error is about: Kind for
// an unknown kind, else the field of the parameter its faults.ParamError
// names, or that parameter's name when it is missing.
func specErrorField(err error, kind, kindField string, from map[string]string) string {
	if !faults.KnownKind(kind) {
		return kindField
	}
	var pe *faults.ParamError
	if !errors.As(err, &pe) {
		return ""
	}
	if field, ok := from[pe.Key]; ok {
		return field
	}
	if pe.Why == "missing" {
		return pe.Key
	}
	return ""
}

// applyError words a valid fault's failure to act: 409 when it is the
// device's state (not connected, no such channel), else 409 too, with the
// injector's reason, since a valid spec fails only for what the device or
// this cloud cannot do now.
func applyError(spec faults.Spec, err error) error {
	msg := strings.TrimPrefix(err.Error(), "faults: ")
	switch {
	case store.Unavailable(err): // the device's node did not answer: 503, retry
		return err
	case errors.Is(err, faults.ErrNotConnected):
		return errorf(http.StatusConflict, "", "%s acts on the device's live link and the device is not connected to this cloud node (%s)", spec.Kind, msg)
	case errors.Is(err, faults.ErrUnknownChannel):
		return errorf(http.StatusConflict, "Channel", "the device has no open channel %d (%s)", spec.Channel, msg)
	}
	return errorf(http.StatusConflict, "", "could not apply %s: %s", spec.Kind, msg)
}

// getFault serves GET /v1/Devices/{Sid}/Faults/{FaultSid}: a fault in
// force.
func getFault(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	if _, err := query(r); err != nil {
		return err
	}
	sid, err := h.faultDevice(r, a)
	if err != nil {
		return err
	}
	for _, f := range h.faults.List(sid) {
		if f.ID == a.fault {
			writeJSON(w, http.StatusOK, h.faultJSON(r, f, "active"))
			return nil
		}
	}
	return unknownFault(sid, a.fault)
}

func unknownFault(sid, id string) error {
	return errorf(http.StatusNotFound, "FaultSid", "device %s has no fault %q in force (it was cleared, expired, or a one-shot that is done)", sid, id)
}

// clearFault serves DELETE /v1/Devices/{Sid}/Faults/{FaultSid}.
func clearFault(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	if _, err := query(r); err != nil {
		return err
	}
	sid, err := h.faultDevice(r, a)
	if err != nil {
		return err
	}
	if err := h.faults.Clear(sid, a.fault); err != nil {
		if errors.Is(err, faults.ErrUnknownFault) {
			return unknownFault(sid, a.fault)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clearFaults serves DELETE /v1/Devices/{Sid}/Faults[?Kind=KIND]: clears
// every fault in force on the device, or those of one kind, and answers
// with how many.
func clearFaults(h *handler, w http.ResponseWriter, r *http.Request, a args) error {
	q, err := query(r, "Kind")
	if err != nil {
		return err
	}
	var only []faults.Kind
	if k, ok := q["Kind"]; ok {
		if !faults.KnownKind(k) {
			return badParam("Kind", "unknown fault kind %q (one of %s)", k, kindNames())
		}
		only = append(only, faults.Kind(k))
	}
	sid, err := h.faultDevice(r, a)
	if err != nil {
		return err
	}
	n, err := h.faults.ClearAll(sid, only...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		DeviceSid string `json:"device_sid"`
		Cleared   int    `json:"cleared"`
	}{sid, n})
	return nil
}

func kindNames() string { return strings.Join(faults.KindNames(), ", ") }
