package scenario

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// element is any XML element, decoded with all its attributes, to check
// the JUnit schema's required elements and attributes.
type element struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []element  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (e element) attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (e element) need(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, ok := e.attr(n); !ok {
			t.Errorf("<%s> lacks the required attribute %s", e.XMLName.Local, n)
		}
	}
}

func TestJUnit(t *testing.T) {
	rep := &Report{
		Scenario: "http-get survives a link drop", File: "s.yaml", Elapsed: 2500 * time.Millisecond,
		Results: []Result{
			{Name: "clean exit", Line: 30, Passed: true, At: 2 * time.Second},
			{Name: `log "retrying" within 20s`, Line: 25, Why: `no server log line matched "retrying" within 20s; last lines: "a<b>&"`, At: 20 * time.Second},
		},
		Failures: []StepFailure{{Step: "drop mid-request", Line: 12, At: 1500 * time.Millisecond, Err: errors.New("apply channel-close channel=3: device is not connected")}},
	}
	var b bytes.Buffer
	if err := rep.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), xml.Header) {
		t.Errorf("no XML header:\n%s", b.String())
	}
	var root element
	if err := xml.Unmarshal(b.Bytes(), &root); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if root.XMLName.Local != "testsuites" || len(root.Children) != 1 {
		t.Fatalf("root <%s> with %d children, want <testsuites> with one <testsuite>", root.XMLName.Local, len(root.Children))
	}
	suite := root.Children[0]
	if suite.XMLName.Local != "testsuite" {
		t.Fatalf("<%s>, want <testsuite>", suite.XMLName.Local)
	}
	suite.need(t, "name", "tests", "failures", "errors", "time")
	for name, want := range map[string]string{"name": rep.Scenario, "tests": "3", "failures": "2", "errors": "0", "time": "2.500"} {
		if v, _ := suite.attr(name); v != want {
			t.Errorf("testsuite %s=%q, want %q", name, v, want)
		}
	}
	if len(suite.Children) != 3 {
		t.Fatalf("%d testcases, want 3", len(suite.Children))
	}
	type want struct{ name, time, message, typ string }
	for i, w := range []want{
		{"clean exit", "2.000", "", ""},
		{`log "retrying" within 20s`, "20.000", rep.Results[1].Why, "expectation"},
		{"step drop mid-request", "1.500", "apply channel-close channel=3: device is not connected", "step"},
	} {
		c := suite.Children[i]
		if c.XMLName.Local != "testcase" {
			t.Fatalf("child %d is <%s>, want <testcase>", i, c.XMLName.Local)
		}
		c.need(t, "name", "classname", "time")
		if v, _ := c.attr("name"); v != w.name {
			t.Errorf("testcase %d name %q, want %q", i, v, w.name)
		}
		if v, _ := c.attr("classname"); v != rep.Scenario {
			t.Errorf("testcase %d classname %q", i, v)
		}
		if v, _ := c.attr("time"); v != w.time {
			t.Errorf("testcase %d time %q, want %q", i, v, w.time)
		}
		if _, err := strconv.ParseFloat(w.time, 64); err != nil {
			t.Errorf("time %q is not a number", w.time)
		}
		if w.message == "" {
			if len(c.Children) != 0 {
				t.Errorf("passing testcase %d has children %+v", i, c.Children)
			}
			continue
		}
		if len(c.Children) != 1 || c.Children[0].XMLName.Local != "failure" {
			t.Fatalf("failing testcase %d: children %+v, want one <failure>", i, c.Children)
		}
		f := c.Children[0]
		f.need(t, "message", "type")
		if v, _ := f.attr("message"); v != w.message {
			t.Errorf("failure %d message %q, want %q", i, v, w.message)
		}
		if v, _ := f.attr("type"); v != w.typ {
			t.Errorf("failure %d type %q, want %q", i, v, w.typ)
		}
		if !strings.HasPrefix(f.Text, "s.yaml:") {
			t.Errorf("failure %d details %q do not name the file and line", i, f.Text)
		}
	}
}

func TestSummary(t *testing.T) {
	rep := &Report{Scenario: "s", File: "s.yaml", Elapsed: time.Second, Results: []Result{
		{Name: "a", Passed: true}, {Name: "b", Why: "saw 1 of 2 requests to https://api.test/*"},
	}}
	var b bytes.Buffer
	if err := rep.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	want := "scenario \"s\" (s.yaml): 1s\n  PASS a\n  FAIL b — saw 1 of 2 requests to https://api.test/*\n1 of 2 expectations passed, 0 steps failed\n"
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
	if !rep.Failed() {
		t.Error("Failed() = false")
	}
	rep.Results = rep.Results[:1]
	if rep.Failed() {
		t.Error("Failed() = true with every expectation passed")
	}
}
