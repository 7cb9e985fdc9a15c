package scenario

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
)

// The condition keys, shared by when: triggers, expect entries and never:.
var condKeys = []string{string(CondLog), string(CondStdout), string(CondRequest), string(CondPublish), string(CondSubscribe), string(CondNetwork), string(CondFault)}

func (p *parser) timeline(n *yaml.Node) ([]Step, error) {
	items, err := p.list(n, "timeline")
	if err != nil {
		return nil, err
	}
	var steps []Step
	names := map[string]bool{}
	for i, it := range items {
		st, err := p.step(it, fmt.Sprintf("timeline[%d]", i), i)
		if err != nil {
			return nil, err
		}
		if names[st.Name] {
			return nil, p.errorf(it, fmt.Sprintf("timeline[%d].name", i), "another step is named %q", st.Name)
		}
		names[st.Name] = true
		steps = append(steps, st)
	}
	// clear: {step: NAME} must name a step that applies faults.
	for i, st := range steps {
		for _, a := range st.Actions {
			if a.Kind != ActClear || a.ClearStep == "" {
				continue
			}
			if !names[a.ClearStep] {
				return nil, p.errorf(items[i], fmt.Sprintf("timeline[%d].clear.step", i), "no step is named %q", a.ClearStep)
			}
			if !slices.ContainsFunc(steps, func(o Step) bool { return o.Name == a.ClearStep && o.appliesFaults() }) {
				return nil, p.errorf(&yaml.Node{Line: a.Line}, fmt.Sprintf("timeline[%d].clear.step", i), "step %q applies no fault to clear", a.ClearStep)
			}
		}
	}
	return steps, nil
}

// appliesFaults reports whether a step applies a fault (what clear:
// {step: NAME} clears).
func (st *Step) appliesFaults() bool {
	return slices.ContainsFunc(st.Actions, func(a Action) bool { return a.Kind == ActApply })
}

var actionKeys = []string{"apply", "clear", "set-config", "set-secret", "mqtt-inject", "announce-update"}

func (p *parser) step(n *yaml.Node, path string, index int) (Step, error) {
	n = deref(n)
	f, err := p.fields(n, path, append([]string{"name", "at", "when", "after", "every"}, actionKeys...)...)
	if err != nil {
		return Step{}, err
	}
	st := Step{Name: fmt.Sprintf("step %d", index+1), Line: n.Line}
	if v, ok := f["name"]; ok {
		if st.Name, err = p.nonEmpty(v, join(path, "name")); err != nil {
			return st, err
		}
	}
	at, hasAt := f["at"]
	when, hasWhen := f["when"]
	switch {
	case hasAt && hasWhen:
		return st, p.errorf(when, join(path, "when"), "give at or when, not both")
	case !hasAt && !hasWhen:
		return st, p.errorf(n, path, "missing its trigger: at: TIME or when: EVENT")
	case hasAt:
		st.HasAt = true
		if st.At, err = p.duration(at, join(path, "at")); err != nil {
			return st, err
		}
	default:
		if st.When, _, err = p.conditionMap(when, join(path, "when"), false); err != nil {
			return st, err
		}
	}
	if v, ok := f["after"]; ok {
		if st.After, err = p.duration(v, join(path, "after")); err != nil {
			return st, err
		}
	}
	if v, ok := f["every"]; ok {
		if st.Every, err = p.boolean(v, join(path, "every")); err != nil {
			return st, err
		}
		if st.Every && hasAt {
			return st, p.errorf(v, join(path, "every"), "only a when: step can fire more than once")
		}
	}
	// Actions, in the order written.
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		if !slices.Contains(actionKeys, key) {
			continue
		}
		items, paths := oneOrMany(v, join(path, key))
		for j, it := range items {
			a, err := p.action(key, it, paths[j])
			if err != nil {
				return st, err
			}
			st.Actions = append(st.Actions, a)
		}
	}
	if len(st.Actions) == 0 {
		return st, p.errorf(n, path, "no action (give one of %s)", strings.Join(actionKeys, ", "))
	}
	return st, nil
}

func (p *parser) action(key string, n *yaml.Node, path string) (Action, error) {
	n = deref(n)
	a := Action{Line: n.Line}
	var err error
	switch key {
	case "apply":
		a.Kind = ActApply
		a.Fault, err = p.fault(n, path)
	case "announce-update":
		a.Kind = ActApply
		var desc string
		if desc, err = p.str(n, path); err == nil {
			a.Fault, err = faults.ParseSpec(string(faults.UpdateAnnounced), map[string]string{"description": desc})
			if err != nil {
				err = p.errorf(n, path, "%s", err)
			}
		}
	case "clear":
		a.Kind = ActClear
		if n.Kind == yaml.MappingNode {
			var f map[string]*yaml.Node
			if f, err = p.fields(n, path, "step"); err != nil {
				return a, err
			}
			s, ok := f["step"]
			if !ok {
				return a, p.errorf(n, join(path, "step"), "missing")
			}
			a.ClearStep, err = p.nonEmpty(s, join(path, "step"))
			return a, err
		}
		var k string
		if k, err = p.nonEmpty(n, path); err != nil {
			return a, p.errorf(n, path, "want a fault kind or {step: NAME}")
		}
		if !faults.KnownKind(k) {
			return a, p.errorf(n, path, "unknown fault kind %q (one of %s)", k, kindNames())
		}
		a.ClearKind = faults.Kind(k)
	case "set-config", "set-secret":
		a.Kind = ActSetConfig
		store := abi.ConfigKeyFetchStoreConfig
		if key == "set-secret" {
			a.Kind, store = ActSetSecret, abi.ConfigKeyFetchStoreSecret
		}
		a.Value, err = p.value(n, path, store)
	case "mqtt-inject":
		a.Kind = ActMQTTInject
		var f map[string]*yaml.Node
		if f, err = p.fields(n, path, "topic", "payload", "qos"); err != nil {
			return a, err
		}
		t, ok := f["topic"]
		if !ok {
			return a, p.errorf(n, join(path, "topic"), "missing")
		}
		if a.Topic, err = p.nonEmpty(t, join(path, "topic")); err != nil {
			return a, err
		}
		if strings.ContainsAny(a.Topic, "+#") {
			return a, p.errorf(t, join(path, "topic"), "a message's topic has no wildcards (+, #)")
		}
		if v, ok := f["payload"]; ok {
			var s string
			if s, err = p.str(v, join(path, "payload")); err != nil {
				return a, err
			}
			a.Payload = []byte(s)
		}
		if v, ok := f["qos"]; ok {
			var q int
			if q, err = p.integer(v, join(path, "qos"), 0, 2); err != nil {
				return a, err
			}
			a.QoS = uint8(q)
		}
	}
	return a, err
}

// conditionMap reads a mapping holding exactly one condition key (and, for
// request, method; in expect entries, count).
func (p *parser) conditionMap(n *yaml.Node, path string, allowCount bool) (*Condition, int, error) {
	n = deref(n)
	keys := append([]string{"method"}, condKeys...)
	f, err := p.fields(n, path, keys...)
	if err != nil {
		return nil, 0, err
	}
	var key string
	for _, k := range inOrder(n, condKeys) {
		{
			if key != "" {
				return nil, 0, p.errorf(f[k], join(path, k), "give one event, not both %s and %s", key, k)
			}
			key = k
		}
	}
	if key == "" {
		return nil, 0, p.errorf(n, path, "no event (give one of %s)", strings.Join(condKeys, ", "))
	}
	c, count, err := p.condition(key, f[key], join(path, key), allowCount)
	if err != nil {
		return nil, 0, err
	}
	if m, ok := f["method"]; ok {
		if c.Kind != CondRequest {
			return nil, 0, p.errorf(m, join(path, "method"), "only a request takes a method")
		}
		if c.Method, err = p.method(m, join(path, "method")); err != nil {
			return nil, 0, err
		}
	}
	return c, count, nil
}

func (p *parser) method(n *yaml.Node, path string) (string, error) {
	s, err := p.nonEmpty(n, path)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(s, " \t/:") {
		return "", p.errorf(n, path, "%q is not an HTTP method", s)
	}
	return strings.ToUpper(s), nil
}

// condition reads the value of condition key at path. Request, publish and
// subscribe take a scalar (the pattern) or a mapping (with count when
// allowCount).
func (p *parser) condition(key string, n *yaml.Node, path string, allowCount bool) (*Condition, int, error) {
	n = deref(n)
	c := &Condition{Kind: ConditionKind(key)}
	count := 1
	var err error
	switch c.Kind {
	case CondLog, CondStdout:
		c.Regexp, err = p.regexp(n, path)
	case CondNetwork:
		var s string
		if s, err = p.str(n, path); err == nil {
			if s != "connected" && s != "disconnected" {
				err = p.errorf(n, path, "want connected or disconnected, not %q", s)
			}
			c.Network = s
		}
	case CondFault:
		var s string
		if s, err = p.nonEmpty(n, path); err != nil {
			return nil, 0, err
		}
		parts := strings.Fields(s)
		if len(parts) != 2 || (parts[1] != "started" && parts[1] != "ended") {
			return nil, 0, p.errorf(n, path, "want KIND started or KIND ended, not %q", s)
		}
		if !faults.KnownKind(parts[0]) {
			return nil, 0, p.errorf(n, path, "unknown fault kind %q (one of %s)", parts[0], kindNames())
		}
		c.FaultKind, c.Phase = faults.Kind(parts[0]), faults.Started
		if parts[1] == "ended" {
			c.Phase = faults.Ended
		}
	case CondRequest, CondPublish, CondSubscribe:
		field := "topic"
		if c.Kind == CondRequest {
			field = "url"
		}
		if n.Kind == yaml.MappingNode {
			allowed := []string{field}
			if c.Kind == CondRequest {
				allowed = append(allowed, "method")
			}
			if allowCount {
				allowed = append(allowed, "count")
			}
			f, err := p.fields(n, path, allowed...)
			if err != nil {
				return nil, 0, err
			}
			v, ok := f[field]
			if !ok {
				return nil, 0, p.errorf(n, join(path, field), "missing")
			}
			if c.Pattern, err = p.pattern(c.Kind, v, join(path, field)); err != nil {
				return nil, 0, err
			}
			if m, ok := f["method"]; ok {
				if c.Method, err = p.method(m, join(path, "method")); err != nil {
					return nil, 0, err
				}
			}
			if v, ok := f["count"]; ok {
				if count, err = p.integer(v, join(path, "count"), 1, 1<<30); err != nil {
					return nil, 0, err
				}
			}
			return c, count, nil
		}
		c.Pattern, err = p.pattern(c.Kind, n, path)
	}
	if err != nil {
		return nil, 0, err
	}
	return c, count, nil
}

// pattern reads a URL glob (request) or an MQTT topic filter.
func (p *parser) pattern(k ConditionKind, n *yaml.Node, path string) (string, error) {
	s, err := p.nonEmpty(n, path)
	if err != nil {
		return "", err
	}
	if k == CondRequest {
		if strings.Contains(s, "**") {
			return "", p.errorf(n, path, "use a single * to match any run of characters")
		}
		return s, nil
	}
	if err := checkFilter(s); err != nil {
		return "", p.errorf(n, path, "%s", err)
	}
	return s, nil
}

var expectKeys = append([]string{"name", "within", "no-status", "never", "exit"}, condKeys...)

func (p *parser) expectation(n *yaml.Node, path string) (Expectation, error) {
	n = deref(n)
	f, err := p.fields(n, path, append(slices.Clone(expectKeys), "method")...)
	if err != nil {
		return Expectation{}, err
	}
	e := Expectation{Line: n.Line, Count: 1}
	var key string
	for _, k := range inOrder(n, expectKeys[2:]) {
		{
			if key != "" {
				return e, p.errorf(f[k], join(path, k), "one check per entry: both %s and %s given", key, k)
			}
			key = k
		}
	}
	if key == "" {
		return e, p.errorf(n, path, "nothing to expect (give one of %s)", strings.Join(expectKeys[2:], ", "))
	}
	v := f[key]
	kp := join(path, key)
	switch key {
	case "no-status":
		e.Kind = ExpectNoStatus
		var s string
		if s, err = p.nonEmpty(v, kp); err != nil {
			return e, err
		}
		if e.Status, err = statusName(s); err != nil {
			return e, p.errorf(v, kp, "%s", err)
		}
		if e.Status == abi.StatusOkay.String() {
			// Every successful call returns it: the entry would fail on
			// the first one.
			return e, p.errorf(v, kp, "%s is what every successful call returns: want a failure status (e.g. PARAMETERFAULT)", e.Status)
		}
	case "exit":
		e.Kind = ExpectExit
		if e.ExitCode, err = p.integer(v, kp, 0, 255); err != nil {
			return e, err
		}
	case "never":
		e.Kind = ExpectNever
		if e.Cond, _, err = p.conditionMap(v, kp, false); err != nil {
			return e, err
		}
	default:
		e.Kind = ExpectEvent
		if e.Cond, e.Count, err = p.condition(key, v, kp, true); err != nil {
			return e, err
		}
	}
	if m, ok := f["method"]; ok {
		if e.Cond == nil || e.Cond.Kind != CondRequest || e.Kind != ExpectEvent {
			return e, p.errorf(m, join(path, "method"), "only a request takes a method")
		}
		if e.Cond.Method, err = p.method(m, join(path, "method")); err != nil {
			return e, err
		}
	}
	if w, ok := f["within"]; ok {
		if e.Within, err = p.duration(w, join(path, "within")); err != nil {
			return e, err
		}
		if e.Within == 0 {
			return e, p.errorf(w, join(path, "within"), "must be more than 0 (leave within out for the whole run)")
		}
		if e.Kind == ExpectExit || e.Kind == ExpectNoStatus {
			return e, p.errorf(w, join(path, "within"), "%s takes no within", key)
		}
	}
	if nm, ok := f["name"]; ok {
		if e.Name, err = p.nonEmpty(nm, join(path, "name")); err != nil {
			return e, err
		}
	} else {
		e.Name = e.describe()
	}
	return e, nil
}

// statusName returns the MV_STATUS_ name s means (prefix optional).
func statusName(s string) (string, error) {
	want := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(want, "MV_STATUS_") {
		want = "MV_STATUS_" + want
	}
	for v := abi.Status(0); v < 256; v++ {
		name := v.String()
		if strings.HasPrefix(name, "MvStatus(") {
			break
		}
		if name == want {
			return name, nil
		}
	}
	return "", fmt.Errorf("%q is not a Microvisor status (e.g. PARAMETERFAULT or MV_STATUS_PARAMETERFAULT)", s)
}

// checkFilter checks an MQTT topic filter: "#" only last and alone in its
// level, "+" alone in its level.
func checkFilter(f string) error {
	if !mqttbridge.ValidFilter(f) {
		return fmt.Errorf("%q is not a topic filter (+ and # stand for whole levels, # only for the last)", f)
	}
	return nil
}

// inOrder returns the keys of mapping n that are among keys, in the
// file's order.
func inOrder(n *yaml.Node, keys []string) []string {
	n = deref(n)
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if slices.Contains(keys, n.Content[i].Value) {
			out = append(out, n.Content[i].Value)
		}
	}
	return out
}
