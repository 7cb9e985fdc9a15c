package textdist

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"timeline", "timelines", 1}, {"flaw", "lawn", 2},
		{strings.Repeat("a", 2000), strings.Repeat("a", 512) + "b", 0}, // cut to 512 bytes each: the rest is not compared
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%.20q, %.20q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	if c, d := Closest("GET /hellp", []string{"POST /hello", "GET /hello", "GET /help"}); c != "GET /hello" || d != 1 {
		t.Errorf("Closest = %q, %d", c, d)
	}
	if c, d := Closest("x", nil); c != "" || d != -1 {
		t.Errorf("Closest of none = %q, %d", c, d)
	}
}
