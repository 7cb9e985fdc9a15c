package hostabi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// These tests compile csdk/include/mv_syscalls.h with the host's gcc and
// g++ directly (no cgo), so they check the header itself: that it is clean
// C11 and C++17 and that gcc lays it out as abi.X64 says.

var includeDir = filepath.Join("..", "..", "include")

// need returns the path of a host C tool; a missing one skips the test, or
// fails it under CI=true.
func need(t *testing.T, name string) string {
	t.Helper()
	return tool.Require(t, name)
}

// compile runs a compiler on src (written to a file named file) with args,
// failing the test with the compiler's output if it does not succeed.
func compile(t *testing.T, compiler, file, src string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, file)
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "a.out")
	args = append(append(args, "-I", includeDir), in, "-o", out)
	if b, err := exec.Command(compiler, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(compiler), strings.Join(args, " "), err, b)
	}
	return out
}

// cUse exercises the header the way Microvisor applications do: designated
// initialisers of versioned structures, handles compared with 0, enum
// values, and calls of functions from several families.
const cUse = `#include "mv_syscalls.h"
#include <stddef.h>

static struct MvNotification ring[16] __attribute__((aligned(8)));
static uint8_t rx[1024] __attribute__((aligned(512)));
static uint8_t tx[512] __attribute__((aligned(512)));

enum MvStatus open_http(MvNotificationHandle *nh, MvNetworkHandle *net, MvChannelHandle *ch);

enum MvStatus open_http(MvNotificationHandle *nh, MvNetworkHandle *net, MvChannelHandle *ch) {
    struct MvNotificationSetup setup = { .irq = 51, .buffer = ring, .buffer_size = sizeof(ring) };
    enum MvStatus s = mvSetupNotifications(&setup, nh);
    if (s != MV_STATUS_OKAY) return s;
    struct MvRequestNetworkParams np = { .version = 1, .v1 = { .notification_handle = *nh, .notification_tag = 7 } };
    if ((s = mvRequestNetwork(&np, net)) != MV_STATUS_OKAY) return s;
    struct MvOpenChannelParams cp = {
        .version = 1,
        .v1 = {
            .notification_handle = *nh, .notification_tag = 8, .network_handle = *net,
            .receive_buffer = rx, .receive_buffer_len = sizeof(rx),
            .send_buffer = tx, .send_buffer_len = sizeof(tx),
            .channel_type = MV_CHANNELTYPE_HTTP,
            .endpoint = { .data = (const uint8_t *)"", .length = 0 },
        },
    };
    if (*ch == 0 && *net != NULL) s = mvOpenChannel(&cp, ch);
    struct MvHttpHeader h = { .length = 4, .data = (const uint8_t *)"A: b" };
    struct MvHttpRequest req = {
        .method = { (const uint8_t *)"GET", 3 }, .url = { (const uint8_t *)"https://x/", 10 },
        .num_headers = 1, .headers = &h, .body = { NULL, 0 }, .timeout_ms = 10000,
    };
    if (s == MV_STATUS_OKAY) s = mvSendHttpRequest(*ch, &req);
    enum MvNetworkReason r = MV_NETWORKREASON_USINGNETWORK | MV_NETWORKREASON_RTCNOTSET;
    uint32_t n = 0;
    (void)mvGetNetworkReasons(&r, &n);
    enum MvWakeReason w = MV_WAKEREASON_COLDBOOT;
    (void)mvGetWakeReason(&w);
    (void)mvPowerSave(MV_POWERSAVINGMODE_STOP2);
    (void)mvRestart(MV_RESTARTMODE_AUTOAPPLYUPDATE);
    struct MvWifiConfig wc = { .version = 1, .v1 = { .config_mode = MV_WIFICONFIGMODE_CLEARNOW } };
    (void)mvSetWifiConfig(&wc);
    return s;
}
`

// cxxUse is a C++17 translation unit: handles compared with nullptr and 0,
// enums by their C names, structures by their tags.
const cxxUse = `#include "mv_syscalls.h"
#include <cstddef>
#include <type_traits>

static_assert(std::is_pointer<MvNotificationHandle>::value, "handles are pointers");
static_assert(!std::is_same<MvNotificationHandle, MvChannelHandle>::value, "handle types are distinct");
static_assert(sizeof(MvStatus) == 4 && sizeof(MvWakeReason) == 4, "host enums are 4 bytes");

int check(MvChannelHandle ch, MvNetworkHandle net) {
    MvNotificationHandle nh = nullptr;
    if (nh != nullptr || nh != 0 || !(ch == nullptr) || net == 0) {
        return 1;
    }
    MvOpenChannelParams p{};
    p.version = 1;
    p.v1.network_handle = net;
    p.v1.channel_type = MV_CHANNELTYPE_HTTP;
    MvStatus s = mvOpenChannel(&p, &ch);
    MvHttpResponseData d{};
    if (s == MV_STATUS_OKAY) {
        s = mvReadHttpResponseData(ch, &d);
    }
    s = mvCloseChannel(&ch);
    return s == MV_STATUS_OKAY && ch == nullptr && d.result == MV_HTTPRESULT_OK ? 0 : 2;
}
`

// TestHeaderCompilesAsC11 compiles the header as strict C11 with every
// warning an error.
func TestHeaderCompilesAsC11(t *testing.T) {
	gcc := need(t, "gcc")
	compile(t, gcc, "use.c", cUse, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c")
	// C23 accepts the 0xffffffff sentinels without the pragma.
	if exec.Command(gcc, "-std=c2x", "-E", "-x", "c", "/dev/null").Run() == nil {
		compile(t, gcc, "use.c", cUse, "-std=c2x", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c")
	}
}

// TestHeaderCompilesAsCXX17 compiles the header as C++17 with every warning
// an error, comparing handles with nullptr and 0.
func TestHeaderCompilesAsCXX17(t *testing.T) {
	gxx := need(t, "g++")
	compile(t, gxx, "use.cc", cxxUse, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-c")
	compile(t, gxx, "use.cc", cxxUse, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c")
}

// TestHeaderLayoutMatchesX64 compiles and runs a C program printing sizeof
// every structure and offsetof every field (nested and union fields
// included) and compares each with abi.X64, the spec's x64 column.
func TestHeaderLayoutMatchesX64(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("abi.X64 describes 64-bit hosts")
	}
	gcc := need(t, "gcc")
	var src strings.Builder
	src.WriteString("#include \"mv_syscalls.h\"\n#include <stddef.h>\n#include <stdio.h>\n\nint main(void) {\n")
	want := map[string]int{}
	for _, l := range abi.X64.Structs() {
		fmt.Fprintf(&src, "    printf(\"%s %%zu\\n\", sizeof(struct %s));\n", l.Name(), l.Name())
		want[l.Name()] = l.Size()
		for _, f := range l.Fields() {
			key := l.Name() + "." + f.Path
			fmt.Fprintf(&src, "    printf(\"%s %%zu\\n\", offsetof(struct %s, %s));\n", key, l.Name(), f.Path)
			want[key] = f.Offset
		}
	}
	for _, e := range abi.Enums() {
		fmt.Fprintf(&src, "    printf(\"%s %%zu\\n\", sizeof(enum %s));\n", e.CName, e.CName)
		want[e.CName] = 4
	}
	for _, h := range abi.Handles() {
		fmt.Fprintf(&src, "    printf(\"%s %%zu\\n\", sizeof(%s));\n", h.Name, h.Name)
		want[h.Name] = abi.X64.PointerSize()
	}
	src.WriteString("    return 0;\n}\n")
	bin := compile(t, gcc, "layout.c", src.String(), "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic")
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("layout program: %v", err)
	}
	got := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		got[k] = n
	}
	if len(got) != len(want) {
		t.Errorf("program printed %d values, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("gcc: %s = %d, abi.X64 says %d", k, g, w)
		}
	}
	t.Logf("%d sizes and offsets agree with abi.X64", len(want))
}

// TestHeaderLayoutMatchesDevice compiles the header for a 32-bit target
// with short enums and 8-byte-aligned 64-bit integers (gcc -m32
// -fshort-enums -malign-double, the layout rules of the device's ARM ABI)
// and asserts abi.Device's sizes and offsets with _Static_assert: the
// 1-byte enums shrink only where short enums apply. Skipped when gcc has
// no 32-bit support.
func TestHeaderLayoutMatchesDevice(t *testing.T) {
	gcc := need(t, "gcc")
	flags := []string{"-m32", "-ffreestanding", "-fshort-enums", "-malign-double", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"}
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe.c")
	if err := os.WriteFile(probe, []byte("#include <stdint.h>\n#include <stddef.h>\nint x;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(gcc, append(flags, probe, "-o", filepath.Join(dir, "probe.o"))...).CombinedOutput(); err != nil {
		tool.Missing(t, "gcc cannot compile for 32-bit x86 here: %v\n%s", err, b)
	}
	var src strings.Builder
	src.WriteString("#include \"mv_syscalls.h\"\n#include <stddef.h>\n\n")
	assert := func(expr string, n int, what string) {
		fmt.Fprintf(&src, "_Static_assert(%s == %d, \"%s\");\n", expr, n, what)
	}
	n := 0
	for _, l := range abi.Device.Structs() {
		assert("sizeof(struct "+l.Name()+")", l.Size(), "sizeof "+l.Name())
		assert("_Alignof(struct "+l.Name()+")", l.Align(), "alignof "+l.Name())
		n += 2
		for _, f := range l.Fields() {
			assert(fmt.Sprintf("offsetof(struct %s, %s)", l.Name(), f.Path), f.Offset, l.Name()+"."+f.Path)
			n++
		}
	}
	for _, e := range abi.Enums() {
		assert("sizeof(enum "+e.CName+")", e.Size, "sizeof enum "+e.CName)
		n++
	}
	for _, h := range abi.Handles() {
		assert("sizeof("+h.Name+")", abi.Device.PointerSize(), "sizeof "+h.Name)
		n++
	}
	compile(t, gcc, "device.c", src.String(), flags...)
	t.Logf("%d sizes, alignments and offsets agree with abi.Device", n)
}
