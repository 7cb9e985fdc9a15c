package scenario

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Scenario string        // the scenario's name
	File     string        // its file
	Elapsed  time.Duration // how long the run lasted
	Results  []Result      // one per expectation, in file order
	Failures []StepFailure // steps that could not be carried out
}

// Result is an expectation's verdict.
type Result struct {
	Name   string
	Line   int
	Passed bool
	Why    string        // for a failure: what was expected and what was seen instead
	At     time.Duration // when it was decided
}

// Failed reports whether an expectation failed or a step could not be
// carried out.
func (rep *Report) Failed() bool {
	for _, r := range rep.Results {
		if !r.Passed {
			return true
		}
	}
	return len(rep.Failures) > 0
}

func (r *Run) report() *Report {
	rep := &Report{Scenario: r.sc.Name, File: r.sc.File, Elapsed: r.ended, Failures: r.failures}
	for _, x := range r.exps {
		rep.Results = append(rep.Results, Result{Name: x.e.Name, Line: x.e.Line, Passed: x.passed, Why: x.why, At: x.at})
	}
	return rep
}

// WriteSummary writes the human summary: one line per expectation
// ("PASS name" or "FAIL name — why"), one per failed step, and a total.
func (rep *Report) WriteSummary(w io.Writer) error {
	failed := 0
	fmt.Fprintf(w, "scenario %q (%s): %s\n", rep.Scenario, rep.File, fmtAt(rep.Elapsed))
	for _, r := range rep.Results {
		if r.Passed {
			fmt.Fprintf(w, "  PASS %s\n", r.Name)
			continue
		}
		failed++
		fmt.Fprintf(w, "  FAIL %s — %s\n", r.Name, r.Why)
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  FAIL %s (%s:%d) at %s — %v\n", stepLabel(f.Step), rep.File, f.Line, fmtAt(f.At), f.Err)
	}
	_, err := fmt.Fprintf(w, "%d of %d expectations passed, %d steps failed\n", len(rep.Results)-failed, len(rep.Results), len(rep.Failures))
	return err
}

// The JUnit XML elements (the attributes CI systems require).
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// WriteJUnit writes the report as JUnit XML: one testsuite (the scenario),
// one testcase per expectation (time: when it was decided) and one failing
// testcase per step that could not be carried out.
func (rep *Report) WriteJUnit(w io.Writer) error {
	s := junitSuite{Name: rep.Scenario, Time: seconds(rep.Elapsed)}
	for _, r := range rep.Results {
		c := junitCase{Name: r.Name, ClassName: rep.Scenario, Time: seconds(r.At)}
		if !r.Passed {
			c.Failure = &junitFailure{Message: r.Why, Type: "expectation", Text: fmt.Sprintf("%s:%d: %s: %s", rep.File, r.Line, r.Name, r.Why)}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	for _, f := range rep.Failures {
		msg := f.Err.Error()
		s.Cases = append(s.Cases, junitCase{
			Name: stepLabel(f.Step), ClassName: rep.Scenario, Time: seconds(f.At),
			Failure: &junitFailure{Message: msg, Type: "step", Text: fmt.Sprintf("%s:%d: %s at %s: %s", rep.File, f.Line, f.Step, fmtAt(f.At), msg)},
		})
		s.Failures++
	}
	s.Tests = len(s.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// stepLabel names a failed step in reports: "step drop mid-request",
// "step 3", "step config[0]".
func stepLabel(name string) string {
	if strings.HasPrefix(name, "step ") {
		return name
	}
	return "step " + name
}
