package cpu

import "testing"

const cProgram = `
typedef unsigned int u32;
typedef unsigned long long u64;
static u32 crc32(const unsigned char *p, int n) {
	u32 c = 0xffffffff;
	for (int i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320 & -(c & 1));
	}
	return ~c;
}
static void sort(int *a, int n) {
	for (int i = 1; i < n; i++) {
		int v = a[i], j = i - 1;
		while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
		a[j + 1] = v;
	}
}
static int fmt(char *out, int v) {
	char tmp[12]; int n = 0, neg = v < 0; u32 u = neg ? -(u32)v : (u32)v;
	do { tmp[n++] = '0' + u % 10; u /= 10; } while (u);
	int k = 0; if (neg) out[k++] = '-';
	while (n) out[k++] = tmp[--n];
	out[k] = 0; return k;
}
int data[16] = {5, -3, 99, 12, 0, 7, -100, 42, 8, 1, 3, 77, -5, 6, 2, 10};
volatile u64 big = 0x123456789abcdefULL;
unsigned char buf[64];
int state;
int sw(int x) {
	switch (x) { case 0: return 11; case 1: return 22; case 2: return 33; case 3: return 44;
	case 4: return 55; case 5: return 66; case 6: return 77; default: return -1; }
}
u32 main(void) {
	sort(data, 16);
	for (int i = 1; i < 16; i++) if (data[i-1] > data[i]) return 1;
	for (int i = 0; i < 64; i++) buf[i] = i * 7;
	if (crc32(buf, 64) != EXPECT_CRC) return 2;
	char s[16];
	if (fmt(s, -12345) != 6 || s[0] != '-' || s[5] != '5') return 3;
	u64 b = big;
	if (b / 1000 != 0x123456789abcdefULL / 1000) return 4;
	if ((long long)b * -3 / 7 != (long long)0x123456789abcdefULL * -3 / 7) return 5;
	int t = 0; for (int i = 0; i < 9; i++) t += sw(i);
	if (t != 11+22+33+44+55+66+77-2) return 6;
	volatile int z = 0; if (100 / (z + 7) != 14) return 7;
	state = data[15];
	return 0x600d;
}
`

// crcOf is the expected CRC32 of the test buffer, computed in Go.
func crcOf() uint32 {
	c := uint32(0xffffffff)
	for i := 0; i < 64; i++ {
		c ^= uint32(byte(i * 7))
		for k := 0; k < 8; k++ {
			c = c>>1 ^ 0xedb88320&-(c&1)
		}
	}
	return ^c
}

// TestCompiledC runs a gcc-built program (sorting, CRC, formatting, 64-bit
// division through libgcc, a jump table) at every optimisation level.
func TestCompiledC(t *testing.T) {
	src := "#define EXPECT_CRC " + itoa(crcOf()) + "u\n" + cProgram
	for _, opt := range []string{"-O0", "-O1", "-O2", "-O3", "-Os"} {
		t.Run(opt, func(t *testing.T) {
			runMain(t, compileC(t, src, opt, ramBase))
		})
	}
}

// runMain runs a C image linked at ramBase until main returns; main
// returns 0x600d when every check in it passed.
func runMain(t *testing.T, image []byte) *machine {
	t.Helper()
	m := newMachine(image, ramBase)
	m.run(t)
	if len(m.h.faults) != 0 {
		t.Fatalf("faults %+v", m.h.faults)
	}
	if m.R[0] != 0x600d {
		t.Fatalf("main returned %#x, want 0x600d", m.R[0])
	}
	return m
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	s := ""
	for ; v > 0; v /= 10 {
		s = string(rune('0'+v%10)) + s
	}
	return s
}

const newlibProgram = `
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
static char heap[16384]; static int hp;
void *_sbrk(int n) { void *p = heap + hp; hp += (n + 7) & ~7; return p; }
static int cmp(const void *a, const void *b) { return *(const int*)a - *(const int*)b; }
char out[128];
unsigned main(void) {
	char buf[128];
	volatile double d = 3.25; volatile float f = 1.5f;
	int n = snprintf(buf, sizeof buf, "%d|%5.2f|%s|%x|%ld|%g|%e", -42, d * f, "abc", 0xbeef, 123456789L, d / 3, -d * 1e10);
	strcpy(out, buf);
	int v[8] = {5, 3, 9, -1, 7, 0, 2, 8};
	qsort(v, 8, sizeof v[0], cmp);
	if (v[0] != -1 || v[7] != 9) return 1;
	if (strtol("-12345", 0, 10) != -12345) return 2;
	if (strlen(buf) != (unsigned)n) return 3;
	char *m = malloc(100); memset(m, 'x', 99); m[99] = 0; if (strlen(m) != 99) return 4;
	if (memcmp(m, "xxx", 3) != 0 || strcmp("abc", "abd") >= 0) return 5;
	if ((int)(d * 1000.0 / f) != 2166) return 6;
	return 0x600d;
}
`

// TestNewlib runs newlib-nano's formatted output (soft-float double
// arithmetic in libgcc), qsort, malloc and the optimised string routines.
func TestNewlib(t *testing.T) {
	for _, opt := range []string{"-O0", "-O2", "-Os"} {
		t.Run(opt, func(t *testing.T) {
			m := runMain(t, compileNewlib(t, newlibProgram, opt, ramBase))
			// out is in .data/.bss: find the string by its first bytes.
			want := "-42| 4.88|abc|beef|123456789|1.08333|-3.250000e+10"
			if i := indexOf(m.ram, "-42|"); i < 0 || string(m.ram[i:i+len(want)]) != want {
				t.Fatalf("formatted %q, want %q", cstr(m.ram, i), want)
			}
		})
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

func cstr(b []byte, i int) string {
	if i < 0 {
		return ""
	}
	j := i
	for j < len(b) && b[j] != 0 {
		j++
	}
	return string(b[i:j])
}
