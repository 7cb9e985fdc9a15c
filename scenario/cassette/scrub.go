package cassette

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
)

// MinScrubbedSecret is the shortest secret value scrubbed from the rest of
// a cassette (URLs, headers, bodies, topics, payloads, error texts). A
// shorter value ("on", "42") would replace parts of unrelated text all over
// the cassette; it is still redacted where it was served (the config fetch,
// the CONNECT field), but not searched for elsewhere (docs/record-replay.md,
// "Secrets").
const MinScrubbedSecret = 6

// noteSecretLocked remembers a secret value the recording has seen, to
// scrub it everywhere when the cassette is written. r.mu is held.
func (r *Recorder) noteSecretLocked(v string) {
	if r.o.KeepSecrets || len(v) < MinScrubbedSecret {
		return
	}
	if r.secrets == nil {
		r.secrets = map[string]bool{}
	}
	r.secrets[v] = true
}

// scrubber replaces every known secret value with Redacted, and its
// URL-escaped forms with Redacted escaped alike (what the application sends
// when replay serves it Redacted as the secret).
type scrubber struct{ r *strings.Replacer }

// newScrubber returns the scrubber of secrets, nil when there is none.
func newScrubber(secrets map[string]bool) *scrubber {
	if len(secrets) == 0 {
		return nil
	}
	with := map[string]string{}
	for s := range secrets {
		with[url.QueryEscape(s)] = url.QueryEscape(Redacted)
		with[url.PathEscape(s)] = url.PathEscape(Redacted)
		with[s] = Redacted
	}
	// Longest first, so a secret containing another is replaced whole.
	forms := slices.Collect(maps.Keys(with))
	slices.SortFunc(forms, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	var pairs []string
	for _, f := range forms {
		pairs = append(pairs, f, with[f])
	}
	return &scrubber{strings.NewReplacer(pairs...)}
}

func (s *scrubber) str(v string) string { return s.r.Replace(v) }

func (s *scrubber) data(d Data) Data {
	if d.Base64 == "" {
		d.Text = s.str(d.Text)
		return d
	}
	b := d.Bytes()
	if c := []byte(s.str(string(b))); !bytes.Equal(b, c) {
		d.Base64 = base64.StdEncoding.EncodeToString(c)
	}
	return d
}

func (s *scrubber) header(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		out[k] = make([]string, len(vs))
		for i, v := range vs {
			out[k][i] = s.str(v)
		}
	}
	return out
}

func (s *scrubber) errorRecord(e *ErrorRecord) *ErrorRecord {
	if e == nil {
		return nil
	}
	c := *e
	c.Message = s.str(c.Message)
	return &c
}

// cassette scrubs c (a copy the caller owns) in place.
func (s *scrubber) cassette(c *Cassette) {
	for i := range c.HTTP {
		x := &c.HTTP[i]
		x.Request.URL = s.str(x.Request.URL)
		x.Request.Header = s.header(x.Request.Header)
		x.Request.Data = s.data(x.Request.Data)
		if x.Response != nil {
			resp := *x.Response
			resp.Header = s.header(resp.Header)
			resp.Data = s.data(resp.Data)
			x.Response = &resp
		}
		x.Error = s.errorRecord(x.Error)
	}
	for i := range c.Config {
		f := &c.Config[i]
		f.Error = s.errorRecord(f.Error)
		if f.Store == storeName(abi.ConfigKeyFetchStoreSecret) {
			continue // already Redacted
		}
		f.Value = s.str(f.Value)
	}
	for i := range c.MQTT {
		m := &c.MQTT[i]
		m.Error = s.errorRecord(m.Error)
		var version byte
		for j := range m.Packets {
			p := &m.Packets[j]
			if p.Type == "CONNECT" {
				version = p.Version
			}
			s.packet(p, version)
		}
	}
}

// packet scrubs a packet's topic, filters and payload; a broker packet's
// raw bytes, which replay sends, are encoded again when they changed.
func (s *scrubber) packet(p *MQTTPacket, version byte) {
	topic := s.str(p.Topic)
	payload := Data{Text: p.Payload, Base64: p.Payload64}
	scrubbed := s.data(payload)
	changed := topic != p.Topic || scrubbed != payload
	p.Topic, p.Payload, p.Payload64 = topic, scrubbed.Text, scrubbed.Base64
	if len(p.Filters) > 0 {
		p.Filters = slices.Clone(p.Filters)
		for i := range p.Filters {
			p.Filters[i].Filter = s.str(p.Filters[i].Filter)
		}
	}
	if !changed || p.Raw == "" || p.Type != "PUBLISH" {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(p.Raw)
	if err != nil {
		return // Read checks raw; a recording writes it valid
	}
	var pk packets.Packet
	pk.ProtocolVersion = version
	if pk.FixedHeader.Decode(raw[0]) != nil {
		return
	}
	hdr := 2
	for raw[hdr-1]&0x80 != 0 {
		hdr++
	}
	pk.FixedHeader.Remaining = len(raw) - hdr
	if pk.PublishDecode(raw[hdr:]) != nil {
		return
	}
	pk.TopicName, pk.Payload = topic, scrubbed.Bytes()
	var buf bytes.Buffer
	if pk.PublishEncode(&buf) != nil {
		return
	}
	p.Raw = base64.StdEncoding.EncodeToString(buf.Bytes())
}
