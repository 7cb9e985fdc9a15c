package cloud

import "sync"

// dedupLogs passes observations on to fn, except server log lines the
// device sent before: the kernel resends the lines the cloud has not
// acknowledged when its next link comes up, with the same sequence numbers
// (the store deduplicates them the same way), and a scenario's `when: {log:
// …}, every: true` must fire once per line.
//
// A device numbers the lines of one boot consecutively from a random start,
// and resends from its oldest unacknowledged line, so the lines it sent in
// the current boot are one range [lo, hi] of numbers: a line in it was
// observed, hi+1 extends it, anything else is a new boot (or lines the
// cloud did not observe, logging being disabled) and starts a new range.
func dedupLogs(fn func(Observation)) func(Observation) {
	var mu sync.Mutex
	seen := map[string]*[2]uint64{} // device -> [lo, hi]
	return func(ob Observation) {
		if ob.Kind == ObserveServerLog {
			mu.Lock()
			r, ok := seen[ob.Device]
			switch {
			case !ok:
				seen[ob.Device] = &[2]uint64{ob.Seq, ob.Seq}
			case ob.Seq >= r[0] && ob.Seq <= r[1]:
				mu.Unlock()
				return // a resend
			case ob.Seq == r[1]+1:
				r[1] = ob.Seq
			default:
				*r = [2]uint64{ob.Seq, ob.Seq}
			}
			mu.Unlock()
		}
		fn(ob)
	}
}
