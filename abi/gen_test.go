package abi_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mvnet/mvnet/abi/internal/render"
)

// TestGeneratedFilesFresh renders every generated file in memory and fails
// if the committed copy differs: edit abi/table.go or abi/structs.go, then
// run go generate ./abi.
func TestGeneratedFilesFresh(t *testing.T) {
	for _, o := range render.Outputs() {
		want, err := o.Render()
		if err != nil {
			t.Fatalf("render %s: %v", o.Path, err)
		}
		have, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(o.Path)))
		if err != nil {
			t.Fatalf("%s: %v (run go generate ./abi)", o.Path, err)
		}
		if !bytes.Equal(have, want) {
			t.Errorf("%s is stale: run go generate ./abi", o.Path)
		}
	}
}
