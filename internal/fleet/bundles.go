package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mvnet/mvnet/device"
)

// LoadBundles reads the credential bundles in dir (every *.json file, in
// name order), as `mvnet device create --count N --out DIR` writes them.
// It reads at most limit of them (0: all).
func LoadBundles(dir string, limit int) ([]*device.Bundle, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--bundles: %w", err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("--bundles %s: no bundle (*.json) there: create them with 'mvnet device create --count N --out %s'", dir, dir)
	}
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]*device.Bundle, 0, len(names))
	for _, n := range names {
		b, err := device.LoadBundle(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("--bundles: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}
