package periph

import (
	"sort"
	"time"
)

// A series is one input's timeline: points in time order.
type series []point

type point struct {
	at time.Duration
	v  float64
}

// Interpolation says how an input moves between the points of its timeline.
type Interpolation int

const (
	// Step holds each point's value until the next point (the default).
	Step Interpolation = iota
	// Linear moves in a straight line from one point to the next.
	Linear
)

// value is the series at time t: the first point's value before it, the
// last one's after it, and between two points per how.
func (s series) value(t time.Duration, how Interpolation) float64 {
	i := sort.Search(len(s), func(i int) bool { return s[i].at > t })
	switch {
	case i == 0:
		return s[0].v
	case i == len(s) || how == Step:
		return s[i-1].v
	}
	a, b := s[i-1], s[i]
	f := float64(t-a.at) / float64(b.at-a.at)
	return a.v + f*(b.v-a.v)
}
