package conformance

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Result is the state after one sequence, as the harness recorded it.
type Result struct {
	R       [13]uint32
	APSR    uint32 // MRS APSR: N Z C V Q and GE
	SP      uint32
	Status  uint32 // statusDone or statusFaulted
	Scratch [ScratchWords]uint32
}

// Faulted reports whether the sequence faulted.
func (r *Result) Faulted() bool { return r.Status == statusFaulted }

// parseResults reads the harness output: one line of outWords hex words
// per sequence, among whatever else the output holds.
func parseResults(out []byte, n int) ([]Result, error) {
	var rs []Result
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if len(line) != outWords*8 {
			continue
		}
		var w [outWords]uint32
		ok := true
		for i := range w {
			v, err := strconv.ParseUint(line[8*i:8*i+8], 16, 32)
			if err != nil {
				ok = false
				break
			}
			w[i] = uint32(v)
		}
		if !ok {
			continue
		}
		var r Result
		copy(r.R[:], w[:outRegs])
		r.APSR, r.SP, r.Status = w[outAPSR], w[outSP], w[outStatus]
		copy(r.Scratch[:], w[outScratch:])
		rs = append(rs, r)
	}
	if len(rs) != n {
		return rs, fmt.Errorf("conformance: %d result lines for %d sequences", len(rs), n)
	}
	return rs, nil
}

// RunQEMU runs the image on QEMU's MPS2-AN505 (Cortex-M33) and returns
// the results, one per sequence.
func RunQEMU(ctx context.Context, qemu string, img *Image) ([]Result, error) {
	cmd := exec.CommandContext(ctx, qemu, "-M", "mps2-an505", "-cpu", "cortex-m33", "-nographic",
		"-monitor", "none", "-serial", "none",
		"-semihosting-config", "enable=on,target=native", "-kernel", img.Path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("conformance: %s: %w\n%s", qemu, err, stderr.String())
	}
	// QEMU writes the semihosting console to stderr when it has no
	// chardev for it (-serial none), to stdout otherwise: read both.
	rs, err := parseResults(append(stdout.Bytes(), stderr.Bytes()...), len(img.Seqs))
	if err != nil {
		return nil, fmt.Errorf("%w (qemu stderr: %.2000s)", err, stderr.String())
	}
	return rs, nil
}
