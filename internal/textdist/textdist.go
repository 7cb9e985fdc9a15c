// Package textdist measures how far apart two strings are, to name the
// closest known one in an error ("did you mean …?", "closest recorded: …").
package textdist

// maxLen bounds the bytes of each string compared, so that a huge input
// (a request body) cannot make a comparison slow.
const maxLen = 512

// Distance is the Levenshtein distance between a and b, in bytes, over
// their first 512 bytes.
func Distance(a, b string) int {
	a, b = a[:min(len(a), maxLen)], b[:min(len(b), maxLen)]
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns the candidate nearest to s (the first of equals), and
// its distance; "" and -1 when there is none.
func Closest(s string, cands []string) (string, int) {
	best, bestD := "", -1
	for _, c := range cands {
		if d := Distance(s, c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}
