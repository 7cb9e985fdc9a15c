package faults

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Kind names a fault. The names are what the CLI (mvnet fault apply
// DEVICE KIND key=value ...), the REST API (Kind=...) and scenario files
// (kind: ...) use; docs/fault-injection.md describes each.
type Kind string

// The faults. A "lasting" fault is in force from Apply until Clear (or
// until its For elapses); a "one-shot" fault acts once when applied and
// ends when that action is over.
const (
	// Link.
	LinkDrop     Kind = "link-drop"     // lasting: the link is closed and reconnects refused
	LinkFlap     Kind = "link-flap"     // lasting: the link goes down and up (Period with Duty, or Loss with Seed)
	Latency      Kind = "latency"       // lasting: frames to the device held Delay (+ up to Jitter, Seed)
	ChannelClose Kind = "channel-close" // one-shot: CLOSE with CHANNELCLOSEDBYSERVER (Channel)
	ChannelReset Kind = "channel-reset" // one-shot: CLOSE with CHANNELRESETBYSERVER (Channel)
	CloudRestart Kind = "cloud-restart" // one-shot: the link goes and returns after Down

	// Upstream HTTP (requests whose URL matches URL, a pattern).
	DNSFailure   Kind = "dns-failure"   // lasting: names matching Host do not resolve (HTTP and MQTT)
	HTTPStatus   Kind = "http-status"   // lasting: the response's status is Status (body Body)
	HTTPDelay    Kind = "http-delay"    // lasting: the response is Delay late
	HTTPReset    Kind = "http-reset"    // lasting: the connection is reset before a response
	HTTPTruncate Kind = "http-truncate" // lasting: the body is cut after Bytes bytes
	HTTPTLS      Kind = "http-tls"      // lasting: the TLS handshake fails (certificate not trusted)

	// MQTT brokers (connections whose broker host matches Host, if set).
	MQTTDisconnect Kind = "mqtt-disconnect" // one-shot: the device's broker connections are cut
	MQTTRefuse     Kind = "mqtt-refuse"     // lasting: connects are refused with ReasonCode
	MQTTDelay      Kind = "mqtt-delay"      // lasting: incoming messages on Topic held Delay
	MQTTDrop       Kind = "mqtt-drop"       // lasting: incoming messages on Topic dropped (Loss, Seed)

	// The device's services.
	ClockUnset      Kind = "clock-unset"      // lasting: links give the device no wall time
	ClockSkew       Kind = "clock-skew"       // lasting: the wall time sent is off by Skew
	LoggingDisabled Kind = "logging-disabled" // lasting: mvServerLog answers LOGGINGDISABLEDBYSERVER
	UpdateAnnounced Kind = "update"           // one-shot: UPDATEDOWNLOADED with Description
)

// kindInfo says what a kind takes.
type kindInfo struct {
	oneShot  bool
	params   []string // the parameters it accepts, besides "for"
	required []string
	summary  string
}

var kinds = map[Kind]kindInfo{
	LinkDrop:     {summary: "the link is closed at once and reconnects are refused"},
	LinkFlap:     {params: []string{"period", "duty", "loss", "seed"}, required: []string{"period"}, summary: "the link goes down and up: each period it is down for duty×period, or (loss) down for the whole period with that probability"},
	Latency:      {params: []string{"delay", "jitter", "seed"}, summary: "every frame to the device is held delay plus a random part of jitter, in order"},
	ChannelClose: {oneShot: true, params: []string{"channel"}, required: []string{"channel"}, summary: "the channel is closed with CHANNELCLOSEDBYSERVER"},
	ChannelReset: {oneShot: true, params: []string{"channel"}, required: []string{"channel"}, summary: "the channel is closed with CHANNELRESETBYSERVER"},
	CloudRestart: {oneShot: true, params: []string{"down"}, summary: "the link goes away and the cloud accepts it again after down (default " + DefaultRestartDown.String() + ")"},

	DNSFailure:   {params: []string{"host"}, required: []string{"host"}, summary: "host names matching host do not resolve"},
	HTTPStatus:   {params: []string{"url", "status", "body"}, required: []string{"status"}, summary: "responses to requests matching url get this status (and body) instead"},
	HTTPDelay:    {params: []string{"url", "delay"}, required: []string{"delay"}, summary: "responses to requests matching url come delay late"},
	HTTPReset:    {params: []string{"url"}, summary: "requests matching url have their connection reset"},
	HTTPTruncate: {params: []string{"url", "bytes"}, summary: "response bodies for requests matching url end after bytes bytes, mid-body"},
	HTTPTLS:      {params: []string{"url"}, summary: "the TLS handshake for requests matching url fails"},

	MQTTDisconnect: {oneShot: true, params: []string{"host"}, summary: "the device's broker connections are cut (the channel ends CONNECTIONTERMINATED; the broker publishes the will)"},
	MQTTRefuse:     {params: []string{"host", "reason-code"}, summary: "broker connects are refused with reason-code (default 5 / 0x87, not authorized)"},
	MQTTDelay:      {params: []string{"host", "topic", "delay"}, required: []string{"delay"}, summary: "messages from the broker on topics matching topic are held delay"},
	MQTTDrop:       {params: []string{"host", "topic", "loss", "seed"}, summary: "messages from the broker on topics matching topic are dropped (each with probability loss, default 1)"},

	ClockUnset:      {summary: "links give the device no wall time: mvGetWallTime answers TIMENOTSET until the device gets one"},
	ClockSkew:       {params: []string{"skew"}, required: []string{"skew"}, summary: "the wall time the cloud sends is off by skew (may be negative)"},
	LoggingDisabled: {summary: "server logging is disabled for the device"},
	UpdateAnnounced: {oneShot: true, params: []string{"description"}, summary: "the device is told an application update has been downloaded"},
}

// Kinds lists every kind, sorted, with a one-line summary and its
// parameters, for help texts.
func Kinds() []KindHelp {
	out := make([]KindHelp, 0, len(kinds))
	for k, info := range kinds {
		out = append(out, KindHelp{Kind: k, OneShot: info.oneShot, Params: info.params, Required: info.required, Summary: info.summary})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Kind < out[b].Kind })
	return out
}

// KindHelp describes a kind.
type KindHelp struct {
	Kind     Kind
	OneShot  bool
	Params   []string
	Required []string
	Summary  string
}

// OneShot reports whether the kind acts once rather than lasting.
func (k Kind) OneShot() bool { return kinds[k].oneShot }

// Duration is a time.Duration written as Go writes durations ("1.5s",
// "200ms") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string ("2s") or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var f float64
		if err2 := json.Unmarshal(b, &f); err2 != nil {
			return fmt.Errorf("a duration must be a string like \"2s\" or a number of seconds")
		}
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Spec is a fault to apply: its Kind and the parameters that kind takes
// (the others are zero). It is the one description of a fault behind every
// door: Go, the REST API, the CLI and scenario files.
type Spec struct {
	Kind Kind `json:"kind"`
	// For, if set, clears a lasting fault by itself this long after it was
	// applied.
	For Duration `json:"for,omitempty"`

	Period Duration `json:"period,omitempty"` // link-flap
	Duty   float64  `json:"duty,omitempty"`   // link-flap: fraction of each period the link is down (default 0.5)
	Loss   float64  `json:"loss,omitempty"`   // link-flap, mqtt-drop: probability
	Seed   int64    `json:"seed,omitempty"`   // link-flap, latency, mqtt-drop: the random source's seed
	Delay  Duration `json:"delay,omitempty"`  // latency, http-delay, mqtt-delay
	Jitter Duration `json:"jitter,omitempty"` // latency
	Down   Duration `json:"down,omitempty"`   // cloud-restart (default DefaultRestartDown)

	Channel uint32 `json:"channel,omitempty"` // channel-close, channel-reset: the handle

	Host   string `json:"host,omitempty"`   // dns-failure, mqtt-*: a host name pattern
	URL    string `json:"url,omitempty"`    // http-*: a URL pattern ("" matches every URL)
	Status int    `json:"status,omitempty"` // http-status
	Body   string `json:"body,omitempty"`   // http-status
	Bytes  int    `json:"bytes,omitempty"`  // http-truncate: body bytes kept (default half the body)

	ReasonCode int    `json:"reason_code,omitempty"` // mqtt-refuse: CONNACK return/reason code
	Topic      string `json:"topic,omitempty"`       // mqtt-delay, mqtt-drop: an MQTT topic filter ("" is every topic)

	Skew        Duration `json:"skew,omitempty"`        // clock-skew
	Description string   `json:"description,omitempty"` // update
}

// ParseSpec builds a Spec from a kind and string parameters, as the CLI
// (key=value), the REST API (form fields) and scenario files give them.
// Keys are the parameter names of docs/fault-injection.md ("period",
// "reason-code"; "_" may stand for "-"), plus "for". An unknown key, a key
// the kind does not take, a malformed value or a missing required
// parameter is an error naming it.
func ParseSpec(kind string, params map[string]string) (Spec, error) {
	s := Spec{Kind: Kind(kind)}
	info, ok := kinds[s.Kind]
	if !ok {
		return s, fmt.Errorf("unknown fault kind %q (one of %s)", kind, kindList())
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := params[key]
		name := strings.ReplaceAll(strings.ToLower(key), "_", "-")
		if name != "for" && !slices.Contains(info.params, name) {
			if len(info.params) == 0 {
				why := fmt.Sprintf("takes no parameter %q (only for=DURATION)", key)
				return s, paramError(key, why, fmt.Errorf("%s: %s", kind, why))
			}
			why := fmt.Sprintf("unknown parameter %q (it takes %s, for)", key, strings.Join(info.params, ", "))
			return s, paramError(key, why, fmt.Errorf("%s: %s", kind, why))
		}
		if err := s.set(name, v); err != nil {
			return s, paramError(key, err.Error(), fmt.Errorf("%s: %s=%q: %w", kind, key, v, err))
		}
		// A zero in the Spec means "not given" (the default); given
		// explicitly it would mean the opposite of the default.
		var why string
		switch {
		case name == "loss" && s.Loss == 0 && s.Kind == MQTTDrop:
			why = "loss=0 would drop nothing: omit loss to drop every message"
		case name == "loss" && s.Loss == 0 && s.Kind == LinkFlap:
			why = "loss=0 would never take the link down: give loss above 0, or duty"
		case name == "reason-code" && s.ReasonCode == 0:
			why = "0 is success, not a refusal: omit reason-code for \"not authorized\""
		}
		if why != "" {
			return s, paramError(key, why, fmt.Errorf("%s: %s=%q: %s", kind, key, v, why))
		}
	}
	for _, r := range info.required {
		if !has(params, r) {
			return s, paramError(r, "missing", fmt.Errorf("%s: missing parameter %s", kind, r))
		}
	}
	return s, s.Validate()
}

func has(params map[string]string, name string) bool {
	for k := range params {
		if strings.ReplaceAll(strings.ToLower(k), "_", "-") == name {
			return true
		}
	}
	return false
}

// KnownKind reports whether k names a fault kind.
func KnownKind(k string) bool {
	_, ok := kinds[Kind(k)]
	return ok
}

// KindNames lists the kinds' names, sorted, for messages naming the valid
// ones.
func KindNames() []string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, string(k))
	}
	sort.Strings(names)
	return names
}

func kindList() string { return strings.Join(KindNames(), ", ") }

func (s *Spec) set(name, v string) error {
	var err error
	dur := func(d *Duration) {
		var x time.Duration
		x, err = parseDuration(v)
		*d = Duration(x)
	}
	switch name {
	case "for":
		dur(&s.For)
	case "period":
		dur(&s.Period)
	case "delay":
		dur(&s.Delay)
	case "jitter":
		dur(&s.Jitter)
	case "down":
		dur(&s.Down)
	case "skew":
		dur(&s.Skew)
	case "duty":
		s.Duty, err = parseFraction(v)
	case "loss":
		s.Loss, err = parseFraction(v)
	case "seed":
		s.Seed, err = strconv.ParseInt(v, 0, 64)
	case "channel":
		var n uint64
		n, err = strconv.ParseUint(v, 0, 32)
		s.Channel = uint32(n)
	case "status":
		s.Status, err = strconv.Atoi(v)
	case "bytes":
		s.Bytes, err = strconv.Atoi(v)
	case "reason-code":
		var n uint64
		// Read wide, so that Validate says which codes there are.
		n, err = strconv.ParseUint(v, 0, 64)
		s.ReasonCode = int(min(n, math.MaxInt32))
	case "host":
		s.Host = v
	case "url":
		s.URL = v
	case "body":
		s.Body = v
	case "topic":
		s.Topic = v
	case "description":
		s.Description = v
	default:
		err = fmt.Errorf("unknown parameter")
	}
	if ne, ok := err.(*strconv.NumError); ok {
		err = ne.Err
	}
	return err
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("not a duration (want e.g. 500ms, 2s, 1m)")
	}
	return d, nil
}

func parseFraction(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
		return 0, fmt.Errorf("want a number from 0 to 1")
	}
	return f, nil
}

// Validate checks the spec's values: a known kind, no negative durations,
// fractions within 0..1, an HTTP status within 100..599, a reason code
// that refuses a connect in some MQTT version (1–5, 0x80–0xFF), patterns
// that compile.
func (s Spec) Validate() error {
	info, ok := kinds[s.Kind]
	if !ok {
		return fmt.Errorf("unknown fault kind %q (one of %s)", s.Kind, kindList())
	}
	bad := func(f string, a ...any) error { return validateError(s.Kind, info, fmt.Sprintf(f, a...)) }
	for name, d := range map[string]Duration{"for": s.For, "period": s.Period, "delay": s.Delay, "jitter": s.Jitter, "down": s.Down} {
		if d < 0 {
			return bad("%s must not be negative", name)
		}
	}
	if info.oneShot && s.For != 0 {
		return bad("a one-shot fault takes no for")
	}
	if s.Duty < 0 || s.Duty > 1 || s.Loss < 0 || s.Loss > 1 {
		return bad("duty and loss must be from 0 to 1")
	}
	switch s.Kind {
	case LinkFlap:
		if s.Period <= 0 {
			return bad("period must be positive")
		}
		if s.Duty != 0 && s.Loss != 0 {
			return bad("give duty or loss, not both")
		}
	case Latency:
		if s.Delay == 0 && s.Jitter == 0 {
			return bad("give delay, jitter or both")
		}
	case ChannelClose, ChannelReset:
		if s.Channel == 0 {
			return bad("channel must be an open channel's handle")
		}
	case HTTPStatus:
		if s.Status < 100 || s.Status > 599 {
			return bad("status %d is not an HTTP status (100–599)", s.Status)
		}
	case HTTPDelay, MQTTDelay:
		if s.Delay <= 0 {
			return bad("delay must be positive")
		}
	case HTTPTruncate:
		if s.Bytes < 0 {
			return bad("bytes must not be negative")
		}
	case MQTTRefuse:
		// MQTT 3.1.1 §3.2.2.3: refusals are return codes 1–5; MQTT 5
		// §3.2.2.2: reason codes 0x80 and above. 0 is the default.
		if s.ReasonCode < 0 || s.ReasonCode > 255 || s.ReasonCode > MaxRefuseV311 && s.ReasonCode < MinRefuseV5 {
			return bad("reason-code %d is no CONNACK refusal (1–5 in MQTT 3.1.1, 0x80–0xFF in MQTT 5)", s.ReasonCode)
		}
	case DNSFailure:
		if s.Host == "" {
			return bad("host must name the host (a pattern; * matches any run of characters)")
		}
	}
	for name, p := range map[string]string{"host": s.Host, "url": s.URL} {
		if strings.Contains(p, "**") {
			return bad("%s pattern %q: use a single * to match any run of characters", name, p)
		}
	}
	return nil
}

// String writes the spec as the CLI takes it: "link-flap period=2s
// duty=0.25".
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(string(s.Kind))
	add := func(k, v string) { b.WriteString(" " + k + "=" + v) }
	dur := func(k string, d Duration) {
		if d != 0 {
			add(k, time.Duration(d).String())
		}
	}
	dur("period", s.Period)
	if s.Duty != 0 {
		add("duty", strconv.FormatFloat(s.Duty, 'g', -1, 64))
	}
	if s.Loss != 0 {
		add("loss", strconv.FormatFloat(s.Loss, 'g', -1, 64))
	}
	if s.Seed != 0 {
		add("seed", strconv.FormatInt(s.Seed, 10))
	}
	dur("delay", s.Delay)
	dur("jitter", s.Jitter)
	dur("down", s.Down)
	if s.Channel != 0 {
		add("channel", strconv.FormatUint(uint64(s.Channel), 10))
	}
	for _, kv := range [][2]string{{"host", s.Host}, {"url", s.URL}, {"topic", s.Topic}, {"body", s.Body}, {"description", s.Description}} {
		if kv[1] != "" {
			add(kv[0], strconv.Quote(kv[1]))
		}
	}
	if s.Status != 0 {
		add("status", strconv.Itoa(s.Status))
	}
	if s.Bytes != 0 {
		add("bytes", strconv.Itoa(s.Bytes))
	}
	if s.ReasonCode != 0 {
		add("reason-code", strconv.Itoa(s.ReasonCode))
	}
	dur("skew", s.Skew)
	dur("for", s.For)
	return b.String()
}

// Match reports whether s matches the glob pattern: "*" matches any run of
// characters (including "/" and "."), every other character itself, case
// sensitively except that host names compare case-insensitively (the
// caller lowers them). An empty pattern matches everything.
func Match(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
