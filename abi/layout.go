package abi

import (
	"fmt"
	"strings"
)

// Kind is the C type class of a structure field.
type Kind uint8

// The kinds of field. Sizes: U8 1, U16 2, U32 4, U64 8; Pointer and Handle
// are pointer-sized (handles are opaque pointer typedefs in the C header);
// Enum is 4 bytes; Enum8 is 1 byte where the ABI uses short enums, else 4;
// Struct is a structure held by value; Union is the anonymous union that
// holds a versioned structure's "v1" member.
const (
	KindU8 Kind = iota + 1
	KindU16
	KindU32
	KindU64
	KindPointer
	KindHandle
	KindEnum
	KindEnum8
	KindStruct
	KindUnion
)

var kindNames = [...]string{
	KindU8: "u8", KindU16: "u16", KindU32: "u32", KindU64: "u64",
	KindPointer: "pointer", KindHandle: "handle", KindEnum: "enum",
	KindEnum8: "enum8", KindStruct: "struct", KindUnion: "union",
}

// String names the kind, e.g. "pointer".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Field is one field of a StructLayout. Fields of nested structures and of
// the v1 union appear too, with dotted paths: "v1.endpoint.length".
type Field struct {
	Path   string // dotted path from the outer structure
	Kind   Kind
	CType  string // C type: "uint32_t", "enum MvChannelType", "MvNetworkHandle", "const uint8_t *"; a nested struct's tag; "" for the union
	Offset int    // from the start of the outer structure
	Size   int
	Align  int
}

// StructLayout is the layout of one structure in one ABI. It is immutable.
type StructLayout struct {
	name   string
	size   int
	align  int
	fields []Field
	index  map[string]int
}

// Name is the structure's C tag, e.g. "MvOpenChannelParams".
func (l *StructLayout) Name() string { return l.name }

// Size is sizeof the structure, trailing padding included.
func (l *StructLayout) Size() int { return l.size }

// Align is the structure's alignment.
func (l *StructLayout) Align() int { return l.align }

// Fields lists every field in declaration order, each aggregate before the
// fields inside it. The result is a copy.
func (l *StructLayout) Fields() []Field { return append([]Field(nil), l.fields...) }

// Field finds a field by its dotted path.
func (l *StructLayout) Field(path string) (Field, bool) {
	i, ok := l.index[path]
	if !ok {
		return Field{}, false
	}
	return l.fields[i], true
}

// Offset is the offset of the field at path, e.g. "v1.endpoint" or
// "endpoint.length". It panics if the structure has no such field.
func (l *StructLayout) Offset(path string) int {
	f, ok := l.Field(path)
	if !ok {
		panic("abi: " + l.name + " has no field " + path)
	}
	return f.Offset
}

// ABI is one binary interface: pointer size, enum sizes and hence every
// structure's layout, plus the codecs built on those layouts. An ABI is
// immutable and safe for concurrent use.
type ABI struct {
	name       string
	ptrSize    int
	shortEnums bool
	structs    map[string]*StructLayout
	order      []*StructLayout
	c          codecs
}

// The two ABIs of spec/abi.md.
var (
	// Device is the 32-bit ARMv8-M ABI: 4-byte pointers and handles, short
	// enums. The emulated address space (mem.Arena) uses it.
	Device = mustNew(New("device", 4, true))
	// X64 is gcc's x86-64 Linux ABI: 8-byte pointers and handles, 4-byte
	// enums. The C SDK should build its ABI from cgo (NewFromOffsets) and
	// may check it against this one.
	X64 = mustNew(New("x86-64", 8, false))
)

func mustNew(a *ABI, err error) *ABI {
	if err != nil {
		panic(err)
	}
	return a
}

// Name is the name the ABI was built with, e.g. "device".
func (a *ABI) Name() string { return a.name }

// PointerSize is the size of pointers and handles in bytes (4 or 8).
func (a *ABI) PointerSize() int { return a.ptrSize }

// ShortEnums reports whether the 1-byte enums of the table are 1 byte wide.
func (a *ABI) ShortEnums() bool { return a.shortEnums }

// Struct returns the layout of the structure with C tag name, or nil.
func (a *ABI) Struct(name string) *StructLayout { return a.structs[name] }

// Structs lists every structure layout in header order.
func (a *ABI) Structs() []*StructLayout { return append([]*StructLayout(nil), a.order...) }

// New computes every layout with the C rules of a natural-alignment ABI
// (scalars aligned to their size, u64 included, as on AAPCS and SysV
// x86-64): ptrSize is 4 or 8; shortEnums makes the table's 1-byte enums 1
// byte wide.
func New(name string, ptrSize int, shortEnums bool) (*ABI, error) {
	a, err := newABI(name, ptrSize, shortEnums)
	if err != nil {
		return nil, err
	}
	for _, sd := range structTable {
		offs, size, err := a.naturalOffsets(sd.fields)
		if err != nil {
			return nil, fmt.Errorf("abi %s: %s: %w", name, sd.name, err)
		}
		decl := map[string]int{}
		for i, d := range declared(sd) {
			decl[d.path] = offs[i]
		}
		if err := a.add(sd, decl, size); err != nil {
			return nil, err
		}
	}
	return a, a.initCodecs()
}

// NewFromOffsets builds an ABI from layouts reported by a compiler, e.g. by
// cgo for the host the C SDK runs on. sizes holds sizeof every structure by
// C tag; it may also hold sizeof enum types by C tag (1 or 4; any 1-byte
// enum there turns short enums on; absent enums are taken as 4 bytes).
// offsets holds, per structure, the offset of every declared field: each
// top-level field, and for versioned structures each "v1.<field>" instead
// of "v1" itself ("v1" may be given too). Fields of nested structures are
// derived from the nested structure's own entry. Every structure and field
// must be present; unknown names, overlaps and fields past the end are
// errors.
func NewFromOffsets(name string, ptrSize int, sizes map[string]int, offsets map[string]map[string]int) (*ABI, error) {
	short, err := shortEnumsFrom(sizes)
	if err != nil {
		return nil, fmt.Errorf("abi %s: %w", name, err)
	}
	a, err := newABI(name, ptrSize, short)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, sd := range structTable {
		known[sd.name] = true
		size, ok := sizes[sd.name]
		if !ok {
			return nil, fmt.Errorf("abi %s: no size for %s", name, sd.name)
		}
		got, ok := offsets[sd.name]
		if !ok {
			return nil, fmt.Errorf("abi %s: no offsets for %s", name, sd.name)
		}
		decl := map[string]int{}
		for _, d := range declared(sd) {
			off, ok := got[d.path]
			if !ok {
				return nil, fmt.Errorf("abi %s: no offset for %s.%s", name, sd.name, d.path)
			}
			decl[d.path] = off
		}
		for p, off := range got {
			if _, ok := decl[p]; ok {
				continue
			}
			if p == "v1" && hasUnion(sd) {
				decl["v1"] = off
				continue
			}
			return nil, fmt.Errorf("abi %s: %s has no field %q", name, sd.name, p)
		}
		if err := a.add(sd, decl, size); err != nil {
			return nil, err
		}
	}
	for s := range offsets {
		if !known[s] {
			return nil, fmt.Errorf("abi %s: unknown structure %q in offsets", name, s)
		}
	}
	for s := range sizes {
		if _, isEnum := enumByCName(s); !known[s] && !isEnum {
			return nil, fmt.Errorf("abi %s: unknown type %q in sizes", name, s)
		}
	}
	return a, a.initCodecs()
}

func newABI(name string, ptrSize int, short bool) (*ABI, error) {
	if ptrSize != 4 && ptrSize != 8 {
		return nil, fmt.Errorf("abi %s: pointer size %d, want 4 or 8", name, ptrSize)
	}
	return &ABI{name: name, ptrSize: ptrSize, shortEnums: short, structs: map[string]*StructLayout{}}, nil
}

// shortEnumsFrom reads enum sizes out of a NewFromOffsets sizes map.
func shortEnumsFrom(sizes map[string]int) (bool, error) {
	short, seen := false, false
	for _, e := range enumTable {
		n, ok := sizes[e.CName]
		if !ok {
			continue
		}
		switch {
		case e.Size == 4 && n != 4:
			return false, fmt.Errorf("enum %s has size %d, want 4", e.CName, n)
		case e.Size == 1 && n != 1 && n != 4:
			return false, fmt.Errorf("enum %s has size %d, want 1 or 4", e.CName, n)
		case e.Size == 1:
			if seen && short != (n == 1) {
				return false, fmt.Errorf("enum %s has size %d, unlike the other short enums", e.CName, n)
			}
			short, seen = n == 1, true
		}
	}
	return short, nil
}

// declaredField is a field whose offset is stated (computed or reported)
// rather than derived: top-level fields, with the union replaced by its
// members.
type declaredField struct {
	path string
	f    fieldDesc
}

func declared(sd structDesc) []declaredField {
	var out []declaredField
	for _, f := range sd.fields {
		if f.kind != KindUnion {
			out = append(out, declaredField{f.name, f})
			continue
		}
		for _, m := range f.members {
			out = append(out, declaredField{f.name + "." + m.name, m})
		}
	}
	return out
}

func hasUnion(sd structDesc) bool {
	for _, f := range sd.fields {
		if f.kind == KindUnion {
			return true
		}
	}
	return false
}

// sizeAlign gives the size and alignment of a non-union field.
func (a *ABI) sizeAlign(f fieldDesc) (int, int, error) {
	switch f.kind {
	case KindU8:
		return 1, 1, nil
	case KindU16:
		return 2, 2, nil
	case KindU32, KindEnum:
		return 4, 4, nil
	case KindU64:
		return 8, 8, nil
	case KindPointer, KindHandle:
		return a.ptrSize, a.ptrSize, nil
	case KindEnum8:
		if a.shortEnums {
			return 1, 1, nil
		}
		return 4, 4, nil
	case KindStruct:
		n, ok := a.structs[f.ctype]
		if !ok {
			return 0, 0, fmt.Errorf("field %s: struct %s is not laid out yet", f.name, f.ctype)
		}
		return n.size, n.align, nil
	}
	return 0, 0, fmt.Errorf("field %s: unexpected kind %v", f.name, f.kind)
}

// naturalOffsets lays fields out by the C rules: each at the next multiple
// of its alignment, the whole padded to the largest alignment. A union's
// members are laid out as one nested struct. The offsets returned are those
// of the declared fields (see declared), in order.
func (a *ABI) naturalOffsets(fields []fieldDesc) (offs []int, size int, err error) {
	off, align := 0, 1
	for _, f := range fields {
		var fs, fa int
		var inner []int
		if f.kind == KindUnion {
			inner, fs, err = a.naturalOffsets(f.members)
			fa = a.membersAlign(f.members)
		} else {
			fs, fa, err = a.sizeAlign(f)
		}
		if err != nil {
			return nil, 0, err
		}
		off = roundUp(off, fa)
		if f.kind == KindUnion {
			for _, o := range inner {
				offs = append(offs, off+o)
			}
		} else {
			offs = append(offs, off)
		}
		off += fs
		align = max(align, fa)
	}
	return offs, roundUp(off, align), nil
}

func (a *ABI) membersAlign(fs []fieldDesc) int {
	al := 1
	for _, f := range fs {
		_, fa, _ := a.sizeAlign(f)
		al = max(al, fa)
	}
	return al
}

func roundUp(n, a int) int { return (n + a - 1) / a * a }

// add builds and checks the layout of sd from the offsets of its declared
// fields (plus "v1" if reported) and its size, then records it.
func (a *ABI) add(sd structDesc, decl map[string]int, size int) error {
	l := &StructLayout{name: sd.name, size: size, align: 1, index: map[string]int{}}
	for _, f := range sd.fields {
		if f.kind != KindUnion {
			if err := a.place(l, "", f, decl[f.name]); err != nil {
				return fmt.Errorf("abi %s: %s: %w", a.name, sd.name, err)
			}
			continue
		}
		ua := a.membersAlign(f.members)
		uoff := decl[f.name+"."+f.members[0].name]
		if v, ok := decl[f.name]; ok && v != uoff {
			return fmt.Errorf("abi %s: %s: v1 at %d but its first member at %d", a.name, sd.name, v, uoff)
		}
		last := f.members[len(f.members)-1]
		ls, _, err := a.sizeAlign(last)
		if err != nil {
			return err
		}
		usize := roundUp(decl[f.name+"."+last.name]+ls-uoff, ua)
		l.addField(Field{Path: f.name, Kind: KindUnion, Offset: uoff, Size: usize, Align: ua})
		for _, m := range f.members {
			if err := a.place(l, f.name+".", m, decl[f.name+"."+m.name]); err != nil {
				return fmt.Errorf("abi %s: %s: %w", a.name, sd.name, err)
			}
		}
	}
	if err := l.check(); err != nil {
		return fmt.Errorf("abi %s: %w", a.name, err)
	}
	a.structs[sd.name] = l
	a.order = append(a.order, l)
	return nil
}

// place adds field f at off, and the fields of a nested structure after it.
func (a *ABI) place(l *StructLayout, prefix string, f fieldDesc, off int) error {
	size, align, err := a.sizeAlign(f)
	if err != nil {
		return err
	}
	l.addField(Field{Path: prefix + f.name, Kind: f.kind, CType: f.ctype, Offset: off, Size: size, Align: align})
	if f.kind == KindStruct {
		for _, nf := range a.structs[f.ctype].fields {
			nf.Path = prefix + f.name + "." + nf.Path
			nf.Offset += off
			l.addField(nf)
		}
	}
	return nil
}

func (l *StructLayout) addField(f Field) {
	l.index[f.Path] = len(l.fields)
	l.fields = append(l.fields, f)
	l.align = max(l.align, f.Align)
}

// check verifies that the declared fields of the layout (the leaves and
// aggregates of one nesting level) are in order, do not overlap and end
// within the structure.
func (l *StructLayout) check() error {
	end := 0
	var prev string
	for _, f := range l.fields {
		if strings.Count(f.Path, ".") > depth(f.Path) {
			continue
		}
		if f.Offset < 0 || f.Offset < end {
			return fmt.Errorf("%s: field %s at %d overlaps %s (ends at %d)", l.name, f.Path, f.Offset, prev, end)
		}
		if f.Kind != KindUnion {
			end, prev = f.Offset+f.Size, f.Path
		}
	}
	if end > l.size {
		return fmt.Errorf("%s: field %s ends at %d, past the size %d", l.name, prev, end, l.size)
	}
	return nil
}

// depth is the number of dots a declared field's path may have: one for
// union members, none otherwise.
func depth(path string) int {
	if strings.HasPrefix(path, "v1.") {
		return 1
	}
	return 0
}

// StructNames lists the C tags of every structure in header order.
func StructNames() []string {
	out := make([]string, len(structTable))
	for i, sd := range structTable {
		out[i] = sd.name
	}
	return out
}

// DeclaredFields lists, for the structure with C tag name, the field paths
// NewFromOffsets needs offsets for, in declaration order. It returns nil
// for an unknown structure.
func DeclaredFields(name string) []string {
	for _, sd := range structTable {
		if sd.name != name {
			continue
		}
		var out []string
		for _, d := range declared(sd) {
			out = append(out, d.path)
		}
		return out
	}
	return nil
}
