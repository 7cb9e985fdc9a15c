package faults

// SetFlapHook sets the hook every link-flap applied afterwards calls with
// each period's decision (tests only; not concurrently with Apply).
func SetFlapHook(h func(f Fault, period int, down bool)) { flapHook = h }
