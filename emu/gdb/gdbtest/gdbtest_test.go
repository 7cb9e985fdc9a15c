package gdbtest

import (
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	a := strings.Join(args(Options{Addr: "127.0.0.1:1", Commands: []string{"bt", "info registers"}}), " ")
	if !strings.HasPrefix(a, "-batch -nx ") ||
		!strings.Contains(a, "-ex set architecture armv8-m.main -ex target remote 127.0.0.1:1 -ex bt -ex info registers") {
		t.Fatalf("args without an ELF: %s", a)
	}
	e := args(Options{Addr: "127.0.0.1:1", ELF: "/x/app.elf", Arch: "armv7e-m"})
	if !slices.Contains(e, "file /x/app.elf") || slices.Contains(e, "set architecture armv7e-m") {
		t.Fatalf("args with an ELF: %q", e)
	}
	if e[len(e)-1] != "target remote 127.0.0.1:1" {
		t.Fatalf("target remote is not the last command: %q", e)
	}
}
