package render

import (
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
)

func TestCHeaderDeclaresEverything(t *testing.T) {
	h, err := CHeader(abi.Enums(), abi.Handles(), abi.StructDecls(), abi.Calls())
	if err != nil {
		t.Fatal(err)
	}
	src := string(h)
	want := []string{
		"#ifndef MV_API_H", "#include <stdint.h>", "extern \"C\" {",
		"typedef struct MvNotificationHandleOpaque *MvNotificationHandle;",
		"typedef struct MvExternalFlashHandleOpaque *MvExternalFlashHandle;",
		"MV_STATUS__MAX", "= 0xffffffff", "MV_WAKEREASON__MAX", "= 0xff  ",
		"    union {\n        struct {\n", "        } v1;",
		"enum MvStatus mvNoOp(void);",
		"enum MvStatus mvReadChannel(MvChannelHandle handle, uint8_t **read_pointer_out, uint32_t *length_out);",
		"enum MvStatus mvServerLog(const uint8_t *message, uint16_t length_bytes);",
	}
	for _, e := range abi.Enums() {
		want = append(want, "enum "+e.CName+" {")
		for _, m := range e.Members {
			want = append(want, "    "+m.CName+" ")
		}
	}
	for _, s := range abi.StructDecls() {
		want = append(want, "struct "+s.Name+" {")
	}
	for _, c := range abi.Calls() {
		want = append(want, " "+c.Name+"(")
	}
	for _, w := range want {
		if !strings.Contains(src, w) {
			t.Errorf("header lacks %q", w)
		}
	}
	// Every declaration comes before its first use: enums, handles, then
	// structures (nested ones first), then calls.
	order := []string{"enum MvWifiConfigMode {", "typedef struct MvChannelHandleOpaque", "struct MvSizedString {",
		"struct MvOpenChannelParams {", "struct MvWifiConfigOut {", "mvNoOp("}
	last := -1
	for _, o := range order {
		i := strings.Index(src, o)
		if i < last {
			t.Errorf("%q comes too early", o)
		}
		last = i
	}
}

func TestCHeaderRejectsWideShortEnum(t *testing.T) {
	e := abi.Enums()
	for i := range e {
		if e[i].Size == 1 {
			e[i].Members[0].Value = 0x100
			break
		}
	}
	if _, err := CHeader(e, abi.Handles(), abi.StructDecls(), abi.Calls()); err == nil {
		t.Error("a 1-byte enum member of 0x100 was accepted")
	}
}

func TestWrapAndDecl(t *testing.T) {
	if got := wrap("aaa bbb ccc", 7); len(got) != 2 || got[0] != "aaa bbb" || got[1] != "ccc" {
		t.Errorf("wrap = %q", got)
	}
	if cDecl("const uint8_t *", "data") != "const uint8_t *data" || cDecl("uint32_t", "n") != "uint32_t n" {
		t.Error("cDecl spacing")
	}
	if cgoField("type") != "_type" || cgoField("size") != "size" {
		t.Error("cgoField")
	}
}

func TestGatewayScript(t *testing.T) {
	src := string(GatewayScript(abi.Gateways()))
	if n := strings.Count(src, "PROVIDE("); n != 72 {
		t.Errorf("%d PROVIDE lines, want 72", n)
	}
	for _, w := range []string{"PROVIDE(mvSendHttpRequest = 0x0C1FE101);", "PROVIDE(mvTemporaryStructTest = 0x0C1FE061);",
		"PROVIDE(mvGetWifiConfig = 0x0C1FE249);", "MV_STATUS_UNAVAILABLE"} {
		if !strings.Contains(src, w) {
			t.Errorf("mv_gateways.ld lacks %q", w)
		}
	}
}
