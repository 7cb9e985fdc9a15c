package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
)

// lastN is how many recent lines, requests or topics a WHY text quotes.
const lastN = 3

// expState is an expectation being judged.
type expState struct {
	e       *Expectation
	count   int
	decided bool
	passed  bool
	why     string
	at      time.Duration // when it was decided
}

func (x *expState) decide(passed bool, at time.Duration, why string) {
	x.decided, x.passed, x.at, x.why = true, passed, at, why
}

// holding reports whether x is a negative expectation (never, no-status)
// not broken so far: stop-when-met counts it as met once the others are
// decided.
func (x *expState) holding() bool {
	return !x.decided && (x.e.Kind == ExpectNever || x.e.Kind == ExpectNoStatus)
}

// note keeps what WHY texts quote: the last lines, requests and topics.
func (r *Run) note(e event) {
	keep := func(list *[]string, s string) {
		*list = append(*list, s)
		if len(*list) > lastN {
			*list = (*list)[len(*list)-lastN:]
		}
	}
	switch e.kind {
	case evStdout:
		keep(&r.lastOut, e.text)
	case evObservation:
		switch o := e.obs; o.Kind {
		case cloud.ObserveServerLog:
			keep(&r.lastLog, o.Text)
		case cloud.ObserveHTTPRequest:
			keep(&r.lastReq, o.Method+" "+o.URL)
		case cloud.ObserveMQTTPublish:
			keep(&r.lastPub, o.Topic)
		case cloud.ObserveMQTTSubscribe:
			keep(&r.lastSub, strings.Join(o.Filters, ", "))
		case cloud.ObserveLinkUp:
			r.linkUps++
		case cloud.ObserveDropped:
			r.dropped += o.Dropped
		}
	}
}

// observe judges x against event e as it happens.
func (r *Run) observe(x *expState, e event) {
	if x.decided {
		return
	}
	inTime := x.e.Within == 0 || e.at <= x.e.Within
	switch x.e.Kind {
	case ExpectEvent:
		if inTime && matches(x.e.Cond, e) {
			x.count++
			if x.count >= x.e.Count {
				x.decide(true, e.at, "")
				r.logf("scenario: %v: PASS %s", e.at.Round(time.Millisecond), x.e.Name)
			}
		}
	case ExpectNever:
		if inTime && matches(x.e.Cond, e) {
			x.decide(false, e.at, fmt.Sprintf("it happened at %s: %s", fmtAt(e.at), describeEvent(e)))
			r.logf("scenario: %v: FAIL %s", e.at.Round(time.Millisecond), x.e.Name)
		}
	case ExpectNoStatus:
		if e.kind == evStatus && e.stat == x.e.Status {
			x.decide(false, e.at, fmt.Sprintf("%s returned %s at %s", e.text, e.stat, fmtAt(e.at)))
			r.logf("scenario: %v: FAIL %s", e.at.Round(time.Millisecond), x.e.Name)
		}
	case ExpectExit:
		if e.kind != evExit {
			return
		}
		switch {
		case e.exit.killed != "":
			x.decide(false, e.at, "the application did not exit: "+e.exit.killed)
		case e.exit.code != x.e.ExitCode:
			x.decide(false, e.at, fmt.Sprintf("the application exited with status %d at %s", e.exit.code, fmtAt(e.at)))
		default:
			x.decide(true, e.at, "")
		}
	}
}

// deadline judges x when its within has passed.
func (r *Run) deadline(x *expState, at time.Duration) {
	if x.decided {
		return
	}
	if x.e.Kind == ExpectNever {
		r.decideNever(x, at)
		return
	}
	x.decide(false, at, r.missing(x))
	r.logf("scenario: %v: FAIL %s", at.Round(time.Millisecond), x.e.Name)
}

// judgeAtEnd judges x, still open when the run ends.
func (r *Run) judgeAtEnd(x *expState) {
	if x.decided {
		return
	}
	switch x.e.Kind {
	case ExpectNever:
		r.decideNever(x, r.ended)
	case ExpectNoStatus:
		x.decide(true, r.ended, "")
	case ExpectExit:
		x.decide(false, r.ended, fmt.Sprintf("the application had not exited when the run ended at %s", fmtAt(r.ended)))
	default:
		x.decide(false, r.ended, r.missing(x))
	}
}

func (r *Run) allDecided() bool {
	if r.stepsPending() {
		return false
	}
	decided := 0
	for _, x := range r.exps {
		switch {
		case x.decided:
			decided++
		case !x.holding():
			return false
		}
	}
	// Only negative expectations, none broken: nothing says the run is
	// over before its duration.
	return decided > 0 || (len(r.exps) == 0 && r.exited != nil)
}

// decideNever passes a never: expectation not broken, unless the cloud
// dropped observations it could have been broken by (cloud.ObserveDropped):
// then nobody can tell, and it fails saying so.
func (r *Run) decideNever(x *expState, at time.Duration) {
	if r.dropped > 0 && observed(x.e.Cond.Kind) {
		x.decide(false, at, r.droppedNote()[2:])
		return
	}
	x.decide(true, at, "")
}

// observed reports whether conditions of kind k are judged on the
// cloud's observations (which it may drop when the observer falls behind).
func observed(k ConditionKind) bool {
	return k != CondStdout && k != CondFault
}

// droppedNote is "; ..." saying how many observations were dropped, or "".
func (r *Run) droppedNote() string {
	if r.dropped == 0 {
		return ""
	}
	return fmt.Sprintf("; cannot tell: the cloud dropped %d observations (its observer fell behind, cloud.MaxObserveBacklog)", r.dropped)
}

// stepsPending reports whether a step is still due within the duration:
// an at: step not carried out yet, or a when: step triggered whose after:
// has not passed. They are part of the scenario, so stop-when-met waits
// for them; a when: step never triggered is not waited for.
func (r *Run) stepsPending() bool {
	for i, st := range r.sc.Timeline {
		if r.ran[i] || !(st.HasAt || r.fired[i]) {
			continue
		}
		if !st.HasAt || st.At+st.After < r.sc.Duration {
			return true
		}
	}
	return false
}

// notRun lists the steps whose actions never ran, saying why.
func (r *Run) notRun() []NotRunStep {
	var out []NotRunStep
	for i, st := range r.sc.Timeline {
		if r.ran[i] {
			continue
		}
		n := NotRunStep{Step: st.Name, Line: st.Line}
		switch {
		case st.HasAt:
			n.Trigger = "at " + fmtAt(st.At+st.After)
		case r.fired[i]:
			n.Trigger = "when " + st.When.describe() + ": triggered, the run ended before after " + st.After.String()
		default:
			n.Trigger = "when " + st.When.describe() + ": never happened"
		}
		out = append(out, n)
	}
	return out
}

// missing explains an event expectation not met: what was expected, what
// was seen instead.
func (r *Run) missing(x *expState) string {
	why := r.missingWhy(x)
	if observed(x.e.Cond.Kind) {
		why += r.droppedNote()
	}
	return why
}

func (r *Run) missingWhy(x *expState) string {
	c := x.e.Cond
	span := "during the run (" + fmtAt(r.Elapsed()) + ")"
	if x.e.Within > 0 {
		span = "within " + x.e.Within.String()
	}
	seen := func(what string, last []string) string {
		if len(last) == 0 {
			return "; there was none at all"
		}
		return fmt.Sprintf("; last %s: %s", what, quoteList(last))
	}
	switch c.Kind {
	case CondLog:
		return fmt.Sprintf("no server log line matched %q %s%s", c.Regexp, span, seen("lines", r.lastLog))
	case CondStdout:
		return fmt.Sprintf("no stdout line matched %q %s%s", c.Regexp, span, seen("lines", r.lastOut))
	case CondRequest:
		what := "requests to " + c.Pattern
		if c.Method != "" {
			what = c.Method + " " + what
		}
		return fmt.Sprintf("saw %d of %d %s %s%s", x.count, x.e.Count, what, span, seen("requests", r.lastReq))
	case CondPublish:
		return fmt.Sprintf("saw %d of %d publishes to %s %s%s", x.count, x.e.Count, c.Pattern, span, seen("topics published", r.lastPub))
	case CondSubscribe:
		return fmt.Sprintf("saw %d of %d subscribes to %s %s%s", x.count, x.e.Count, c.Pattern, span, seen("filters subscribed", r.lastSub))
	case CondNetwork:
		if c.Network == "connected" {
			return fmt.Sprintf("the device's link did not come up %s", span)
		}
		if r.linkUps == 0 {
			return fmt.Sprintf("the device's link did not go down %s (it never came up)", span)
		}
		return fmt.Sprintf("the device's link did not go down %s", span)
	case CondFault:
		return fmt.Sprintf("no %s fault %s %s", c.FaultKind, phaseWord(c.Phase), span)
	}
	return "not seen " + span
}

func phaseWord(p faults.Phase) string {
	if p == faults.Ended {
		return "ended"
	}
	return "started"
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func fmtAt(d time.Duration) string { return d.Round(time.Millisecond).String() }

// describeEvent says what an event was, for a never: failure.
func describeEvent(e event) string {
	switch e.kind {
	case evStdout:
		return "stdout " + strconv.Quote(e.text)
	case evFault:
		return fmt.Sprintf("fault %s %s (%s)", e.fault.Fault.Spec, phaseWord(e.fault.Phase), e.fault.Fault.ID)
	}
	o := e.obs
	switch o.Kind {
	case cloud.ObserveServerLog:
		return "server log " + strconv.Quote(o.Text)
	case cloud.ObserveHTTPRequest:
		return "request " + o.Method + " " + o.URL
	case cloud.ObserveMQTTPublish:
		return "publish to " + o.Topic
	case cloud.ObserveMQTTSubscribe:
		return "subscribe to " + strings.Join(o.Filters, ", ")
	}
	return string(o.Kind)
}

// describe makes an expectation's default name from what it checks.
func (e *Expectation) describe() string {
	var s string
	switch e.Kind {
	case ExpectExit:
		return fmt.Sprintf("exit %d", e.ExitCode)
	case ExpectNoStatus:
		return "no-status " + e.Status
	case ExpectNever:
		s = "never " + e.Cond.describe()
	default:
		s = e.Cond.describe()
		if e.Count > 1 {
			s += fmt.Sprintf(" ×%d", e.Count)
		}
	}
	if e.Within > 0 {
		s += " within " + e.Within.String()
	}
	return s
}

func (c *Condition) describe() string {
	switch c.Kind {
	case CondLog, CondStdout:
		return fmt.Sprintf("%s %q", c.Kind, c.Regexp)
	case CondRequest:
		if c.Method != "" {
			return "request " + c.Method + " " + c.Pattern
		}
		return "request " + c.Pattern
	case CondNetwork:
		return "network " + c.Network
	case CondFault:
		return fmt.Sprintf("fault %s %s", c.FaultKind, phaseWord(c.Phase))
	}
	return string(c.Kind) + " " + c.Pattern
}
