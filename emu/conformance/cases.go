package conformance

// Cases are minimal reproducers of the mismatches TestConformance found
// between emu/cpu and QEMU, kept so that each stays fixed.
var Cases = []Seq{}
