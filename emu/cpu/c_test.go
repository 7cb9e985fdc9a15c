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
			m := newMachine(compileC(t, src, opt, ramBase), ramBase)
			m.run(t)
			if len(m.h.faults) != 0 {
				t.Fatalf("faults %+v", m.h.faults)
			}
			if m.R[0] != 0x600d {
				t.Fatalf("main returned %#x, want 0x600d", m.R[0])
			}
		})
	}
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
