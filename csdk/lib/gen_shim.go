//go:build ignore

// gen_shim writes syscalls_gen.c from abi.Calls (go generate ./csdk/lib).
package main

import (
	"log"
	"os"

	"github.com/mvnet/mvnet/csdk/process"
)

func main() {
	b, err := process.ShimC()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("syscalls_gen.c", b, 0o644); err != nil {
		log.Fatal(err)
	}
}
