//go:build cgo

package hostabi

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/mvnet/mvnet/abi"
)

// TestHostMatchesX64 checks that the layouts cgo sees for the header equal
// abi.X64 (spec/abi.md's x64 column) structure by structure and field by
// field, nested fields included.
func TestHostMatchesX64(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skipf("host pointers are %d bytes; abi.X64 describes 64-bit hosts", unsafe.Sizeof(uintptr(0)))
	}
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if ABI().Name() != Name {
		t.Fatalf("ABI() is named %q, want %q", ABI().Name(), Name)
	}
	want := abi.X64
	if h.PointerSize() != want.PointerSize() || h.ShortEnums() != want.ShortEnums() || h.HandleSize() != want.HandleSize() {
		t.Errorf("host: pointer %d, short enums %v, handle %d; x64: %d, %v, %d",
			h.PointerSize(), h.ShortEnums(), h.HandleSize(), want.PointerSize(), want.ShortEnums(), want.HandleSize())
	}
	if len(h.Structs()) != len(want.Structs()) {
		t.Errorf("host has %d structures, x64 %d", len(h.Structs()), len(want.Structs()))
	}
	for _, wl := range want.Structs() {
		hl := h.Struct(wl.Name())
		if hl == nil {
			t.Errorf("host has no %s", wl.Name())
			continue
		}
		if hl.Size() != wl.Size() || hl.Align() != wl.Align() {
			t.Errorf("%s: host size/align %d/%d, x64 %d/%d", wl.Name(), hl.Size(), hl.Align(), wl.Size(), wl.Align())
		}
		if !slices.Equal(hl.Fields(), wl.Fields()) {
			for _, wf := range wl.Fields() {
				if hf, ok := hl.Field(wf.Path); !ok || hf != wf {
					t.Errorf("%s.%s: host %+v, x64 %+v", wl.Name(), wf.Path, hf, wf)
				}
			}
		}
	}
}

// TestEnumSizes checks that every enum is 4 bytes on the host, the 1-byte
// ones of the device included: the host compiler does not use short enums.
func TestEnumSizes(t *testing.T) {
	for _, e := range abi.Enums() {
		if n := cgoSizes[e.CName]; n != 4 {
			t.Errorf("sizeof enum %s = %d on the host, want 4", e.CName, n)
		}
	}
	for name, n := range cgoHandleSizes {
		if n != int(unsafe.Sizeof(uintptr(0))) {
			t.Errorf("sizeof %s = %d, want pointer size", name, n)
		}
	}
}
