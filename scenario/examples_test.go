package scenario

import (
	"io/fs"
	"path/filepath"
	"testing"
)

// TestExampleScenariosParse: every YAML file under examples/ is a valid
// scenario that expects something (examples/c/*/ keep their scenarios
// next to the application).
func TestExampleScenariosParse(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		n++
		sc, err := ParseFile(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		if len(sc.Expect) == 0 {
			t.Errorf("%s: expects nothing", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d example scenario files", n)
}
