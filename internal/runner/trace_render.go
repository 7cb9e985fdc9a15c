package runner

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// text renders a string field of a trace line on one transcript line:
// as it is, or — if it holds a control character (UART data with "\r\n",
// a header's text) — quoted with Go's escapes, so that it cannot break or
// rewrite the transcript's lines.
func text(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// repeatLine renders a repeat line (csdk/process/trace_repeat.go): the
// count, the time the events took, and the repeated event as its own line
// would read, from its first time on:
//
//	×2,345 in 1.2 s from 1201.007 ms: mvGetNetworkStatus(…) → MV_STATUS_OKAY  status=MV_NETWORKSTATUS_CONNECTED
func repeatLine(e map[string]any) string {
	ev, _ := e["event"].(map[string]any)
	if ev == nil {
		return "repeat " + fields(e)
	}
	ev["t"] = e["first"]
	b, err := json.Marshal(ev)
	if err != nil {
		return "repeat " + fields(e)
	}
	from, body, _ := strings.Cut(strings.TrimLeft(Format(string(b)), " "), "  ")
	return fmt.Sprintf("×%s in %s from %s: %s", count(e["count"]), span(num(e["last"])-num(e["first"])), from, body)
}

// droppedLine renders the dropped line a trace file at its size cap begins
// with (csdk/process/trace_file.go).
func droppedLine(e map[string]any) string {
	return fmt.Sprintf("✂ %s earlier events dropped (%s lines, %.3f–%.3f ms): the trace file keeps the newest within MVNET_TRACE_MAX=%v bytes",
		count(e["events"]), count(e["lines"]), num(e["first"])/1000, num(e["last"])/1000, e["max"])
}

// count renders a JSON integer with thousands separators: 2,345.
func count(v any) string {
	n, _ := v.(json.Number)
	s := n.String()
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// span renders microseconds: "350 µs", "12.5 ms", "1.2 s".
func span(us float64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return strconv.FormatFloat(us/1000, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(us/1e6, 'f', 1, 64) + " s"
	}
}
