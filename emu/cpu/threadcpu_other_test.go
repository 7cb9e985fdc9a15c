//go:build !linux

package cpu

import "time"

// threadCPU is not measured outside Linux: the CPU-time metrics of the
// benchmarks are then meaningless (the wall-time ones stand).
func threadCPU() time.Duration { return 0 }
