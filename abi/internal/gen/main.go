// Command gen writes the files rendered from package abi's tables (see
// package abi/internal/render). Run it through go generate:
//
//	go generate ./abi
//
// It finds the module root by walking up from the working directory to
// go.mod, renders every output and rewrites only the files that changed.
// With -check it writes nothing and exits 1 if any file is stale.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mvnet/mvnet/abi/internal/render"
)

func main() {
	root := flag.String("root", "", "module root (default: the nearest directory with go.mod)")
	check := flag.Bool("check", false, "report stale files instead of writing them")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(root string, check bool) error {
	if root == "" {
		var err error
		if root, err = moduleRoot(); err != nil {
			return err
		}
	}
	stale := 0
	for _, o := range render.Outputs() {
		want, err := o.Render()
		if err != nil {
			return fmt.Errorf("%s: %w", o.Path, err)
		}
		path := filepath.Join(root, filepath.FromSlash(o.Path))
		have, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if bytes.Equal(have, want) {
			continue
		}
		stale++
		if check {
			fmt.Fprintf(os.Stderr, "gen: %s is stale\n", o.Path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "gen: wrote %s\n", o.Path)
	}
	if check && stale > 0 {
		return fmt.Errorf("%d stale file(s); run go generate ./abi", stale)
	}
	return nil
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
