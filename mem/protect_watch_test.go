package mem_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/mvnet/mvnet/mem"
)

// A ProtectWatcher hears the ranges protected before it came, then every
// successful Protect, ProtectAs and Unprotect, with their names; failed
// calls and a removed watcher say nothing.
func TestWatchProtect(t *testing.T) {
	a, err := mem.NewArena(mem.FirmwareArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Protect(0x2000_1000, 512); err != nil {
		t.Fatal(err)
	}
	var got []string
	a.WatchProtect(func(p mem.Addr, n uint64, what string, on bool) {
		got = append(got, fmt.Sprintf("%v+%d %q %v", p, n, what, on))
	})
	if err := mem.ProtectAs(a, 0x2000_2000, 1024, "open channel's send buffer"); err != nil {
		t.Fatal(err)
	}
	if err := a.Protect(0x2000_2200, 512); err == nil { // overlaps
		t.Fatal("overlapping Protect succeeded")
	}
	if err := a.Unprotect(0x2000_2000, 512); err == nil { // not a range given to Protect
		t.Fatal("Unprotect of part of a range succeeded")
	}
	if err := a.Unprotect(0x2000_2000, 1024); err != nil {
		t.Fatal(err)
	}
	// The name is what crash reports show; the Arena's own Store says
	// nothing of it but still crashes there.
	if err := a.Store(0x2000_1000, []byte{1}); err == nil {
		t.Fatal("Store into a protected range succeeded")
	}
	a.WatchProtect(nil)
	if err := a.Unprotect(0x2000_1000, 512); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`0x20001000+512 "" true`,
		`0x20002000+1024 "open channel's send buffer" true`,
		`0x20002000+1024 "open channel's send buffer" false`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("watcher heard\n%q\nwant\n%q", got, want)
	}
}

// ProtectAs on a Protector that cannot name ranges protects all the same.
func TestProtectAsPlain(t *testing.T) {
	a, err := mem.NewArena(mem.FirmwareArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	var p mem.Protector = plain{a}
	if err := mem.ProtectAs(p, 0x2000_1000, 512, "server log buffer"); err != nil {
		t.Fatal(err)
	}
	if err := a.CopyOut(0x2000_1000, []byte{1}); err == nil {
		t.Fatal("CopyOut into the range succeeded: not protected")
	}
}

// plain hides the Arena's ProtectAs.
type plain struct{ a *mem.Arena }

func (p plain) Protect(a mem.Addr, n uint64) error   { return p.a.Protect(a, n) }
func (p plain) Unprotect(a mem.Addr, n uint64) error { return p.a.Unprotect(a, n) }
func (p plain) Privileged() mem.Memory               { return p.a.Privileged() }
