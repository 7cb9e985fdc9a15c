// Package cassette records the upstream interactions the cloud makes for a
// device — HTTP exchanges, MQTT broker sessions, config and secret fetches —
// into a versioned JSON cassette, and replays them with no network, no
// broker and no config store (docs/record-replay.md is the reference).
//
// Both sides plug into the cloud's upstream seams: the transport device
// requests go through (httpexec.Options.WrapTransport), the connector broker
// streams are opened with (cloud.MQTTOptions.WrapConnect) and the config
// store (cloud.Options.Config). The fault layer the cloud installs sits
// outside them, so faults apply in replay too and a recording holds what
// the upstream really did.
//
//	rec := cassette.NewRecorder(cassette.Options{})
//	o := cloud.Options{Config: store}
//	rec.Install(&o) // the three seams
//	… cloud.New(o), run the application …
//	err := rec.Save("cassette.json")
//
//	rep, err := cassette.OpenReplayer("cassette.json", cassette.Options{})
//	o = cloud.Options{} // no store, no network
//	rep.Install(&o)
//	… cloud.New(o), run the application …
//	for _, m := range rep.Mismatches() { … } // requests the cassette could not answer
package cassette

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"
)

// Version is the cassette format version this package writes and reads.
const Version = 1

// Redacted replaces secret values in a cassette recorded without
// Options.KeepSecrets.
const Redacted = "[REDACTED]"

// DefaultRedactHeaders are the headers whose values are redacted when
// Options.RedactHeaders is nil.
var DefaultRedactHeaders = []string{"Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization", "X-Api-Key"}

// maxRecordedBody bounds the response body a recording keeps: far above the
// largest channel receive buffer a device may have (1 MiB by default,
// session.DefaultMaxChannelBuffer), so the device never sees the cut.
const maxRecordedBody = 16 << 20

// Cassette is the recorded traffic, as stored in the JSON file.
type Cassette struct {
	// Version is the format version (Version).
	Version int `json:"version"`
	// Recorded is when the recording was saved.
	Recorded time.Time `json:"recorded,omitzero"`
	// Redacted says whether secrets were replaced by Redacted.
	Redacted bool `json:"redacted"`
	// HTTP are the HTTP exchanges, in the order they completed.
	HTTP []HTTPExchange `json:"http"`
	// MQTT are the broker sessions, in the order they were opened.
	MQTT []MQTTSession `json:"mqtt"`
	// Config are the config and secret fetches, in the order answered.
	Config []ConfigFetch `json:"config"`
}

// HTTPExchange is one request the cloud performed and what came back.
type HTTPExchange struct {
	Device   string       `json:"device,omitempty"`
	Request  HTTPRequest  `json:"request"`
	Response *HTTPReply   `json:"response,omitempty"`
	Error    *ErrorRecord `json:"error,omitempty"` // the transport error, instead of a response
}

// HTTPRequest is a recorded request.
type HTTPRequest struct {
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Header http.Header `json:"header,omitempty"`
	Data
}

// HTTPReply is a recorded response.
type HTTPReply struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Data
}

// Data is a body or payload: Text when it is valid UTF-8, else Base64.
type Data struct {
	Text   string `json:"body,omitempty"`
	Base64 string `json:"body_base64,omitempty"`
}

func dataOf(b []byte) Data {
	if utf8.Valid(b) {
		return Data{Text: string(b)}
	}
	return Data{Base64: base64.StdEncoding.EncodeToString(b)}
}

// Bytes returns the data's bytes (Base64 is checked by Read).
func (d Data) Bytes() []byte {
	if d.Base64 != "" {
		b, _ := base64.StdEncoding.DecodeString(d.Base64)
		return b
	}
	return []byte(d.Text)
}

func (d Data) check() error {
	if d.Text != "" && d.Base64 != "" {
		return errors.New("both body and body_base64")
	}
	if _, err := base64.StdEncoding.DecodeString(d.Base64); err != nil {
		return fmt.Errorf("body_base64: %v", err)
	}
	return nil
}

// ErrorRecord is a recorded failure: a transport error, a failed broker
// connect or a failed store fetch. Kind is one of "timeout", "canceled"
// (the cloud gave up on the request, e.g. the link dropped), "dns",
// "refused", "reset", "tls" or "other"; Message is the error's text.
type ErrorRecord struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ConfigFetch is one key of a config fetch and its answer.
type ConfigFetch struct {
	Device string       `json:"device,omitempty"`
	Scope  string       `json:"scope"` // "account" or "device"
	Store  string       `json:"store"` // "config" or "secret"
	Key    string       `json:"key"`
	Found  bool         `json:"found"`
	Value  string       `json:"value,omitempty"` // when found (secrets: Redacted unless kept)
	Error  *ErrorRecord `json:"error,omitempty"`
}

// Options configure recording and replay. The zero value is the defaults.
type Options struct {
	// Device, if set, limits recording and replay to that device's
	// traffic; other devices' traffic goes to the real upstream, unrecorded.
	Device string
	// KeepSecrets records secret-store values, the values of the headers
	// in RedactHeaders and MQTT CONNECT passwords as they are, instead of
	// Redacted.
	KeepSecrets bool
	// RedactHeaders names the headers (request and response) whose values
	// are secrets. Nil: DefaultRedactHeaders.
	RedactHeaders []string
	// MatchHeaders names request headers whose values must match in replay
	// (none by default). A recorded Redacted value matches any value.
	MatchHeaders []string
	// Body says when request bodies must match in replay. Default
	// BodyForWrites.
	Body BodyRule
	// AllowRepeats answers a request asked more often than recorded with
	// the last matching recorded exchange; by default it is a mismatch.
	// (Config fetches always repeat their last recorded answer.)
	AllowRepeats bool
}

// BodyRule says when replay compares request bodies.
type BodyRule int

const (
	// BodyForWrites compares the bodies of POST, PUT and PATCH requests.
	BodyForWrites BodyRule = iota
	// BodyAlways compares every request's body.
	BodyAlways
	// BodyNever compares no body.
	BodyNever
)

func (o *Options) redactHeaders() []string {
	if o.RedactHeaders == nil {
		return DefaultRedactHeaders
	}
	return o.RedactHeaders
}

// Read decodes and checks a cassette. Unknown fields, another version and
// malformed entries are errors that name the problem.
func Read(r io.Reader) (*Cassette, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("cassette: %w", err)
	}
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("cassette: not a JSON cassette: %w", err)
	}
	switch {
	case probe.Version == nil:
		return nil, errors.New("cassette: no \"version\" field: not an mvnet cassette")
	case *probe.Version != Version:
		return nil, fmt.Errorf("cassette: format version %d; this mvnet reads version %d", *probe.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	c := &Cassette{}
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("cassette: %w", err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("cassette: %w", err)
	}
	return c, nil
}

// Load reads the cassette file at path.
func Load(path string) (*Cassette, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Cassette) check() error {
	for i, x := range c.HTTP {
		switch {
		case x.Request.Method == "" || x.Request.URL == "":
			return fmt.Errorf("http[%d]: request without method or url", i)
		case (x.Response == nil) == (x.Error == nil):
			return fmt.Errorf("http[%d]: exactly one of response and error is needed", i)
		}
		if err := x.Request.check(); err != nil {
			return fmt.Errorf("http[%d].request: %v", i, err)
		}
		if x.Response != nil {
			if err := x.Response.check(); err != nil {
				return fmt.Errorf("http[%d].response: %v", i, err)
			}
		}
	}
	for i, s := range c.MQTT {
		if err := s.check(); err != nil {
			return fmt.Errorf("mqtt[%d]: %v", i, err)
		}
	}
	for i, f := range c.Config {
		if err := errors.Join(checkName(scopeNames, "scope", f.Scope), checkName(storeNames, "store", f.Store)); err != nil {
			return fmt.Errorf("config[%d]: %v", i, err)
		}
	}
	return nil
}

// WriteTo writes c as indented JSON.
func (c *Cassette) WriteTo(w io.Writer) (int64, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return 0, err
	}
	n, err := w.Write(append(b, '\n'))
	return int64(n), err
}

// Save writes c to path, replacing it at once (a temporary file renamed).
func (c *Cassette) Save(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".cassette-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
