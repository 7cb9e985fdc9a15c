package scenario

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestStepsNotRun: stop-when-met waits for an at: step due within the
// duration (the fault is part of the scenario), but not for one past it
// nor for a when: step never triggered; the report lists the steps that
// never ran, in the summary (NOT RUN) and as skipped JUnit testcases, and
// they do not fail the run.
func TestStepsNotRun(t *testing.T) {
	g := start(t, `version: 1
duration: 10s
timeline:
  - name: drop
    at: 2s
    apply: {kind: link-drop, for: 1s}
  - name: late
    at: 20s
    apply: {kind: link-drop}
  - name: on retry
    when: {stdout: "retry"}
    set-config: {key: a, value: b}
expect:
  - stdout: "^done"
`)
	g.run.Stdout("done")
	g.run.flush()
	if g.done() {
		t.Fatal("Done before the at: 2s step ran (its fault never applied)")
	}
	g.at(2 * time.Second)
	if !g.done() {
		t.Fatal("Done not closed once the at: 2s step ran")
	}
	rep := g.run.Finish()
	if rep.Failed() {
		t.Errorf("steps not run failed the run:\n%s", results(rep))
	}
	var sum bytes.Buffer
	if err := rep.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  NOT RUN step late (t.yaml:7) at 20s\n",
		"  NOT RUN step on retry (t.yaml:10) when stdout \"retry\": never happened\n",
	} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	if strings.Contains(sum.String(), "NOT RUN step drop") {
		t.Errorf("summary lists the step that ran:\n%s", sum.String())
	}
	var x bytes.Buffer
	if err := rep.WriteJUnit(&x); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`skipped="2"`, `<testcase name="step late"`, `<skipped message="t.yaml:7: not run: at 20s">`, `failures="0"`} {
		if !strings.Contains(x.String(), want) {
			t.Errorf("JUnit lacks %s:\n%s", want, x.String())
		}
	}
}
