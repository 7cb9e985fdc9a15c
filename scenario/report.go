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
	NotRun   []NotRunStep  // timeline steps whose actions never ran
}

// NotRunStep is a timeline step whose actions never ran: its time was
// past the run's end, or its trigger never happened (information, not a
// failure: a scenario may hold steps for events that need not happen).
type NotRunStep struct {
	Step    string // its name
	Line    int    // its line in the file
	Trigger string // "at 2s", or "when log \"x\": never happened"
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
	rep := &Report{Scenario: r.sc.Name, File: r.sc.File, Elapsed: r.ended, Failures: r.failures, NotRun: r.notRun()}
	for _, x := range r.exps {
		rep.Results = append(rep.Results, Result{Name: x.e.Name, Line: x.e.Line, Passed: x.passed, Why: x.why, At: x.at})
	}
	return rep
}

// WriteSummary writes the human summary: one line per expectation
// ("PASS name" or "FAIL name — why"), one per failed step, one per step
// that never ran ("NOT RUN step name (file:line) at 2s"), and a total.
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
	for _, n := range rep.NotRun {
		fmt.Fprintf(w, "  NOT RUN %s (%s:%d) %s\n", stepLabel(n.Step), rep.File, n.Line, n.Trigger)
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
	Skipped  int         `xml:"skipped,attr,omitempty"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// WriteJUnit writes the report as JUnit XML: one testsuite (the scenario),
// one testcase per expectation (time: when it was decided), one failing
// testcase per step that could not be carried out and one skipped testcase
// per step that never ran.
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
	for _, n := range rep.NotRun {
		s.Cases = append(s.Cases, junitCase{Name: stepLabel(n.Step), ClassName: rep.Scenario, Time: seconds(0),
			Skipped: &junitSkipped{Message: fmt.Sprintf("%s:%d: not run: %s", rep.File, n.Line, n.Trigger)}})
		s.Skipped++
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
