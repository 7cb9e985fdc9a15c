package fwbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// hostCC returns the host C compiler: $CC, default cc.
func hostCC() (string, error) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	path, err := exec.LookPath(cc)
	if err != nil {
		return "", fmt.Errorf("fwbuild: no host C compiler: %w", err)
	}
	return path, nil
}

// hostPlan is a host build of program from sources with args before them.
func hostPlan(p *plan, suffix string, sources, headers, args []string, o Options) *plan {
	hp := &plan{program: p.program + suffix, src: p.src, sources: sources,
		inputs: append(append([]string(nil), sources...), headers...)}
	hp.args = append(hp.args, args...)
	for _, d := range o.Defines {
		hp.args = append(hp.args, "-D"+d)
	}
	hp.args = append(hp.args, sources...)
	return hp
}

// BuildHost builds a program's host version with the host C compiler ($CC,
// default cc): the program's *.c but main.c, with host/*.c, at -O2. Only
// programs with a host directory have one (bench). It returns the path of
// the executable, cached like Build.
func BuildHost(program string, o Options) (string, error) {
	p, err := newPlan(program, o)
	if err != nil {
		return "", err
	}
	cc, err := hostCC()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(p.src, program)
	hostMain, _ := filepath.Glob(filepath.Join(dir, "host", "*.c"))
	if len(hostMain) == 0 {
		return "", fmt.Errorf("fwbuild: %s has no host build (no %s)", program, filepath.Join(dir, "host", "*.c"))
	}
	shared, _ := filepath.Glob(filepath.Join(dir, "*.c"))
	var sources []string
	for _, s := range shared {
		if filepath.Base(s) != "main.c" {
			sources = append(sources, s)
		}
	}
	sources = append(sources, hostMain...)
	headers, _ := filepath.Glob(filepath.Join(dir, "*.h"))
	hp := hostPlan(p, ".host", sources, headers, []string{"-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", dir}, o)
	return hp.build(cc, program+".host")
}

// Hosted lists the programs BuildHosted builds: those that touch no
// register but through fw.h's interrupt primitives.
var Hosted = []string{"config_log", "http_get", "mqtt"}

// BuildHosted builds a network program for the host against libmvnet
// (lib: a libmvnet build directory, internal/libcache): the program's *.c
// and common/fw.c with FW_HOSTED defined, so that fw.h maps its interrupt
// primitives to the host SDK's CMSIS calls. The program's logic — the
// calls, their order, the notification handling — then runs against the
// kernel exactly as the firmware's does, without the emulator. It returns
// the path of the executable, cached like Build.
func BuildHosted(program, lib string, o Options) (string, error) {
	p, err := newPlan(program, o)
	if err != nil {
		return "", err
	}
	ok := false
	for _, h := range Hosted {
		ok = ok || h == program
	}
	if !ok {
		return "", fmt.Errorf("fwbuild: %s touches registers and has no hosted build (hosted: %v)", program, Hosted)
	}
	cc, err := hostCC()
	if err != nil {
		return "", err
	}
	include, err := IncludeDir()
	if err != nil {
		return "", err
	}
	archive := filepath.Join(lib, "libmvnet.a")
	if _, err := os.Stat(archive); err != nil {
		return "", fmt.Errorf("fwbuild: no libmvnet build in %s: %w", lib, err)
	}
	dir := filepath.Join(p.src, program)
	sources, _ := filepath.Glob(filepath.Join(dir, "*.c"))
	sources = append(sources, filepath.Join(p.src, "common", "fw.c"))
	var headers []string
	for _, g := range []string{filepath.Join(dir, "*.h"), filepath.Join(p.src, "common", "*.h"), filepath.Join(include, "*.h")} {
		m, _ := filepath.Glob(g)
		headers = append(headers, m...)
	}
	// The library's build directory is named by the hash of its sources
	// (libcache): it is in the arguments, so the key follows the library.
	hp := hostPlan(p, ".hosted", sources, headers, []string{"-O2", "-g", "-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
		"-DFW_HOSTED", "-include", "mvnet_newlib_compat.h", "-I", include, "-I", filepath.Join(p.src, "common"), "-I", dir}, o)
	hp.args = append(hp.args, archive, "-lpthread")
	return hp.build(cc, program+".hosted")
}
