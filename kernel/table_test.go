package kernel

import (
	"testing"

	"github.com/mvnet/mvnet/abi"
)

func TestTableRowsAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Syscalls() {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if (s.Handler == nil) != (s.Support == None) {
			t.Errorf("%s: support %s but handler present=%v", s.Name, s.Support, s.Handler != nil)
		}
	}
}

func TestCallRejectsUnknownAndUnimplemented(t *testing.T) {
	k := &Kernel{}
	if _, err := k.Call("mvNoSuchCall"); err == nil {
		t.Error("unknown call accepted")
	}
	for _, s := range Syscalls() {
		if s.Handler == nil {
			if _, err := k.Call(s.Name); err == nil {
				t.Errorf("unimplemented %s accepted", s.Name)
			}
		}
	}
	if _, err := k.Call("mvGetMicroseconds", 1, 2, 3, 4, 5); err == nil {
		t.Error("too many arguments accepted")
	}
}

// The kernel's table lists every network call of Microvisor's header (abi's
// call table, from which mv_syscalls.h is generated), and nothing that is
// not in the header.
func TestTableMatchesHeaderNetworkCalls(t *testing.T) {
	want := map[string]bool{}
	for _, c := range abi.Calls() {
		if c.Network {
			want[c.Name] = true
		}
	}
	for _, s := range Syscalls() {
		if _, ok := abi.LookupCall(s.Name); !ok {
			t.Errorf("%s is in the kernel table but not in the header", s.Name)
		}
		delete(want, s.Name)
	}
	for name := range want {
		t.Errorf("%s is a network call of the header but missing from the kernel table", name)
	}
}
