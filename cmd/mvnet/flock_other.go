//go:build !unix

package main

import "os"

// flock does nothing where flock(2) is missing: do not run two clouds, or
// a cloud and 'mvnet device create', on one data directory.
func flock(*os.File) error { return nil }

func funlock(*os.File) {}
