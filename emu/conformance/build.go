package conformance

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Tools are the host programs the differential test runs.
type Tools struct {
	AS, LD  string // arm-none-eabi-as, arm-none-eabi-ld
	Objdump string // arm-none-eabi-objdump (mismatch reports)
	QEMU    string // qemu-system-arm
}

// Segment is one loadable part of the image.
type Segment struct {
	Addr uint32
	Data []byte
}

// Image is an assembled and linked harness.
type Image struct {
	Path     string // the ELF file
	Seqs     []Seq
	Segments []Segment
	Syms     map[string]uint32
}

// Build assembles and links the harness for seqs in workDir.
func Build(ctx context.Context, t Tools, workDir string, seqs []Seq) (*Image, error) {
	out := filepath.Join(workDir, "harness.elf")
	if err := assemble(ctx, t, workDir, Source(seqs), out); err != nil {
		return nil, err
	}
	return load(out, seqs)
}

func assemble(ctx context.Context, t Tools, dir, src, out string) error {
	s, o, ld, elfTmp := filepath.Join(dir, "harness.s"), filepath.Join(dir, "harness.o"), filepath.Join(dir, "harness.ld"), filepath.Join(dir, "harness.tmp.elf")
	if err := os.WriteFile(s, []byte(src), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(ld, []byte(linkerScript), 0o644); err != nil {
		return err
	}
	if err := run(ctx, t.AS, "-mcpu=cortex-m33", "-mthumb", "-o", o, s); err != nil {
		return fmt.Errorf("conformance: assembling %s: %w", s, err)
	}
	if err := run(ctx, t.LD, "-T", ld, "-o", elfTmp, o); err != nil {
		return fmt.Errorf("conformance: linking: %w", err)
	}
	return os.Rename(elfTmp, out)
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		msg := stderr.String()
		if len(msg) > 4000 {
			msg = msg[:4000] + "..."
		}
		return fmt.Errorf("%s: %w\n%s", filepath.Base(name), err, msg)
	}
	return nil
}

func load(path string, seqs []Seq) (*Image, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	defer f.Close()
	img := &Image{Path: path, Seqs: seqs, Syms: map[string]uint32{}}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Filesz == 0 {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("conformance: reading %s: %w", path, err)
		}
		img.Segments = append(img.Segments, Segment{Addr: uint32(p.Paddr), Data: b})
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("conformance: symbols of %s: %w", path, err)
	}
	for _, s := range syms {
		img.Syms[s.Name] = uint32(s.Value) &^ 1
	}
	for _, want := range []string{"reset", "seq_done", "fault_resume", "cur_seq", "fault_info"} {
		if _, ok := img.Syms[want]; !ok {
			return nil, fmt.Errorf("conformance: %s has no symbol %s", path, want)
		}
	}
	return img, nil
}

// Disassemble returns arm-none-eabi-objdump's listing of sequence i.
func (img *Image) Disassemble(ctx context.Context, objdump string, i int) string {
	start, end := img.Syms[fmt.Sprintf("seq_%d", i)], img.Syms[fmt.Sprintf("seq_%d_end", i)]
	if objdump == "" || end <= start {
		return strings.Join(img.Seqs[i].Lines, "\n")
	}
	cmd := exec.CommandContext(ctx, objdump, "-d",
		fmt.Sprintf("--start-address=%#x", start), fmt.Sprintf("--stop-address=%#x", end), img.Path)
	out, err := cmd.Output()
	if err != nil {
		return strings.Join(img.Seqs[i].Lines, "\n") + fmt.Sprintf("\n(objdump: %v)", err)
	}
	// Drop objdump's header lines.
	lines := strings.Split(string(out), "\n")
	var keep []string
	for _, l := range lines {
		if strings.Contains(l, ":\t") || strings.HasSuffix(l, ">:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
