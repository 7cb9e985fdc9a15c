package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

func TestQuickQEMU(t *testing.T) {
	tl := Tools{AS: tool.Require(t, "arm-none-eabi-as"), LD: tool.Require(t, "arm-none-eabi-ld"), QEMU: tool.Require(t, "qemu-system-arm")}
	for _, c := range Classes() {
		seqs, err := Generate(1, 40, []string{c})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		img, err := Build(ctx, tl, dir, "", seqs)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := RunQEMU(ctx, tl.QEMU, img)
		cancel()
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		ctx2 := context.Background()
		nf := 0
		for i := range rs {
			if rs[i].Faulted() {
				nf++
				t.Logf("faulted: %s in=%08x", img.Disassemble(ctx2, "/usr/bin/arm-none-eabi-objdump", i), seqs[i].In)
			}
		}
		t.Logf("%s: ok, %d faulted", c, nf)
	}
}
