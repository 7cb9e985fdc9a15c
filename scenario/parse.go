package scenario

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/internal/textdist"
)

// Error is a scenario file error: the file, the line and the field path
// it concerns ("s.yaml:12: timeline[2].apply.period: not a duration").
type Error struct {
	File  string
	Line  int
	Field string // the field path; "" for the file as a whole
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ParseFile reads and parses the scenario file name (YAML or JSON).
func ParseFile(name string) (*Scenario, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// Parse parses a scenario (YAML or JSON, which is read as YAML); file names
// it in errors. Unknown fields are errors; every error is an *Error.
func Parse(file string, data []byte) (*Scenario, error) {
	p := &parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, p.yamlError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "empty file (a scenario starts with version: 1)"}
	}
	sc, err := p.scenario(doc.Content[0])
	if err != nil {
		return nil, err
	}
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return sc, nil
}

type parser struct {
	file string
}

// errorf is an error at node n, field path.
func (p *parser) errorf(n *yaml.Node, path, format string, a ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: p.file, Line: line, Field: path, Msg: fmt.Sprintf(format, a...)}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns the YAML library's syntax error into an Error.
func (p *parser) yamlError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: p.file, Line: line, Msg: "not valid YAML or JSON: " + m[2]}
	}
	return &Error{File: p.file, Msg: "not valid YAML or JSON: " + strings.TrimPrefix(msg, "yaml: ")}
}

// fields reads mapping n (at path) whose keys must be among allowed. It
// returns the values by key, and rejects unknown and repeated keys.
func (p *parser) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, path, "want a mapping (key: value) with %s", strings.Join(allowed, ", "))
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errorf(k, path, "a key must be a plain name")
		}
		fp := join(path, k.Value)
		if !slices.Contains(allowed, k.Value) {
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := closest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (known: " + strings.Join(allowed, ", ") + ")"
			}
			return nil, p.errorf(k, fp, "%s", msg)
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errorf(k, fp, "given twice")
		}
		out[k.Value] = v
	}
	return out, nil
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// closest returns the entry of list nearest s by edit distance, if near
// enough to be a likely typo.
func closest(s string, list []string) string {
	if c, d := textdist.Closest(strings.ToLower(s), list); d >= 0 && d < 3 {
		return c
	}
	return ""
}

// scalar reads a scalar's text.
func (p *parser) scalar(n *yaml.Node, path, want string) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		return "", p.errorf(n, path, "want %s", want)
	}
	if n.Tag == "!!null" {
		return "", nil // "key:" or "key: ~"
	}
	return n.Value, nil
}

// deref follows a YAML alias (*name) to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (p *parser) str(n *yaml.Node, path string) (string, error) {
	return p.scalar(n, path, "a string")
}

func (p *parser) nonEmpty(n *yaml.Node, path string) (string, error) {
	s, err := p.str(n, path)
	if err == nil && s == "" {
		err = p.errorf(n, path, "must not be empty")
	}
	return s, err
}

func (p *parser) duration(n *yaml.Node, path string) (time.Duration, error) {
	s, err := p.scalar(n, path, "a duration (e.g. 500ms, 2s, 1m)")
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, p.errorf(n, path, "not a duration (want e.g. 500ms, 2s, 1m)")
	}
	if d < 0 {
		return 0, p.errorf(n, path, "must not be negative")
	}
	return d, nil
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, error) {
	s, err := p.scalar(n, path, "true or false")
	if err != nil {
		return false, err
	}
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, p.errorf(n, path, "want true or false, not %q", s)
}

func (p *parser) integer(n *yaml.Node, path string, lo, hi int) (int, error) {
	s, err := p.scalar(n, path, "a whole number")
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, p.errorf(n, path, "want a whole number, not %q", s)
	}
	if v < lo || v > hi {
		return 0, p.errorf(n, path, "%d is out of range (%d to %d)", v, lo, hi)
	}
	return v, nil
}

func (p *parser) regexp(n *yaml.Node, path string) (*regexp.Regexp, error) {
	s, err := p.nonEmpty(n, path)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, p.errorf(n, path, "not a regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

// list returns the items of sequence n (at path), each with its path.
func (p *parser) list(n *yaml.Node, path string) ([]*yaml.Node, error) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, path, "want a list")
	}
	return n.Content, nil
}

// listOf reads the list n of the top-level field key, each entry with
// item (its path: "key[i]").
func listOf[T any](p *parser, n *yaml.Node, key string, item func(it *yaml.Node, path string) (T, error)) ([]T, error) {
	items, err := p.list(n, key)
	if err != nil {
		return nil, err
	}
	var out []T
	for i, it := range items {
		v, err := item(it, fmt.Sprintf("%s[%d]", key, i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// oneOrMany returns n's items if it is a list, else n alone, with their
// paths.
func oneOrMany(n *yaml.Node, path string) ([]*yaml.Node, []string) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return []*yaml.Node{n}, []string{path}
	}
	paths := make([]string, len(n.Content))
	for i := range n.Content {
		paths[i] = fmt.Sprintf("%s[%d]", path, i)
	}
	return n.Content, paths
}

func (p *parser) scenario(n *yaml.Node) (*Scenario, error) {
	f, err := p.fields(n, "", "version", "name", "duration", "stop-when-met", "config", "secrets", "faults", "timeline", "expect")
	if err != nil {
		return nil, err
	}
	sc := &Scenario{File: p.file, Duration: DefaultDuration, StopWhenMet: true}
	v, ok := f["version"]
	if !ok {
		return nil, p.errorf(n, "version", "missing (write version: %d first)", Version)
	}
	if s, _ := p.scalar(v, "version", "a number"); s != strconv.Itoa(Version) {
		return nil, p.errorf(v, "version", "unsupported version %q (this mvnet reads version %d)", s, Version)
	}
	if v, ok := f["name"]; ok {
		if sc.Name, err = p.str(v, "name"); err != nil {
			return nil, err
		}
	}
	if v, ok := f["duration"]; ok {
		if sc.Duration, err = p.duration(v, "duration"); err != nil {
			return nil, err
		}
		if sc.Duration == 0 {
			return nil, p.errorf(v, "duration", "must be positive")
		}
	}
	if v, ok := f["stop-when-met"]; ok {
		if sc.StopWhenMet, err = p.boolean(v, "stop-when-met"); err != nil {
			return nil, err
		}
	}
	for _, sec := range []struct {
		key   string
		store abi.ConfigKeyFetchStore
		out   *[]Value
	}{{"config", abi.ConfigKeyFetchStoreConfig, &sc.Config}, {"secrets", abi.ConfigKeyFetchStoreSecret, &sc.Secrets}} {
		v, ok := f[sec.key]
		if !ok {
			continue
		}
		if *sec.out, err = listOf(p, v, sec.key, func(it *yaml.Node, path string) (Value, error) {
			return p.value(it, path, sec.store)
		}); err != nil {
			return nil, err
		}
	}
	if v, ok := f["faults"]; ok {
		if sc.Faults, err = listOf(p, v, "faults", func(it *yaml.Node, path string) (Fault, error) {
			spec, err := p.fault(it, path)
			return Fault{Spec: spec, Line: it.Line}, err
		}); err != nil {
			return nil, err
		}
	}
	if v, ok := f["timeline"]; ok {
		if sc.Timeline, err = p.timeline(v); err != nil {
			return nil, err
		}
	}
	if v, ok := f["expect"]; ok {
		if sc.Expect, err = listOf(p, v, "expect", p.expectation); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// value reads {key, value, scope}.
func (p *parser) value(n *yaml.Node, path string, store abi.ConfigKeyFetchStore) (Value, error) {
	f, err := p.fields(n, path, "key", "value", "scope")
	if err != nil {
		return Value{}, err
	}
	val := Value{Scope: abi.ConfigKeyFetchScopeDevice, Store: store, Line: n.Line}
	k, ok := f["key"]
	if !ok {
		return val, p.errorf(n, join(path, "key"), "missing")
	}
	if val.Key, err = p.nonEmpty(k, join(path, "key")); err != nil {
		return val, err
	}
	v, ok := f["value"]
	if !ok {
		return val, p.errorf(n, join(path, "value"), "missing")
	}
	if val.Value, err = p.str(v, join(path, "value")); err != nil {
		return val, err
	}
	if s, ok := f["scope"]; ok {
		sv, err := p.str(s, join(path, "scope"))
		if err != nil {
			return val, err
		}
		switch sv {
		case "device":
		case "account":
			val.Scope = abi.ConfigKeyFetchScopeAccount
		default:
			return val, p.errorf(s, join(path, "scope"), "want device or account, not %q", sv)
		}
	}
	return val, nil
}

// fault reads {kind, PARAM: value, ...} through faults.ParseSpec, the one
// parser of fault parameters, and maps its errors to the field's line.
func (p *parser) fault(n *yaml.Node, path string) (faults.Spec, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return faults.Spec{}, p.errorf(n, path, "want a mapping with kind and the fault's parameters")
	}
	var kindNode *yaml.Node
	params := map[string]string{}
	nodes := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fp := join(path, k.Value)
		if _, dup := nodes[k.Value]; dup || (k.Value == "kind" && kindNode != nil) {
			return faults.Spec{}, p.errorf(k, fp, "given twice")
		}
		s, err := p.scalar(v, fp, "a single value")
		if err != nil {
			return faults.Spec{}, err
		}
		if k.Value == "kind" {
			kindNode = v
			continue
		}
		params[k.Value] = s
		nodes[k.Value] = v
	}
	if kindNode == nil {
		return faults.Spec{}, p.errorf(n, join(path, "kind"), "missing (one of %s)", kindNames())
	}
	spec, err := faults.ParseSpec(kindNode.Value, params)
	if err == nil {
		return spec, nil
	}
	// Name the parameter the error is about, at its line.
	var pe *faults.ParamError
	if errors.As(err, &pe) {
		for _, key := range slices.Sorted(maps.Keys(nodes)) {
			if paramName(key) == paramName(pe.Key) {
				return faults.Spec{}, p.errorf(nodes[key], join(path, key), "%s", pe.Why)
			}
		}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown fault kind") {
		return faults.Spec{}, p.errorf(kindNode, join(path, "kind"), "%s", msg)
	}
	return faults.Spec{}, p.errorf(n, path, "%s", msg)
}

// paramName is a fault parameter's name as faults.ParseSpec reads it
// ("reason_code" and "Reason-Code" are "reason-code").
func paramName(key string) string { return strings.ReplaceAll(strings.ToLower(key), "_", "-") }

// kindNames lists the fault kinds for a message naming the valid ones.
func kindNames() string { return strings.Join(faults.KindNames(), ", ") }
