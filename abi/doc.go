// Package abi is Microvisor's system-call ABI as data: the enum and status
// values, the structure layouts of each binary interface, and the codecs
// that move those structures between application memory (package mem) and
// Go values.
//
// # One table, generated code
//
// Three tables describe Microvisor's header; nothing else states a value,
// a field or a signature (a fourth, gateways.go, places each call at its
// entry-point address on the device):
//
//   - table.go: every enum type with its C and Go names, its size (4 bytes,
//     or 1 for the enums the device compiler shortens) and every member
//     with its value and a one-line description;
//   - structs.go: every structure (see Layouts), and the opaque handle
//     types (Handles);
//   - calls.go: every function of the header (Calls): name, C return and
//     parameter types, family, whether it is one of the network calls
//     spec/abi.md specifies or one of the header's other calls (clocks,
//     LED, power, restart, testing, peripherals, fast interrupts, system
//     notifications, external flash, Wi-Fi), and the statuses it may
//     return.
//
// The package abi/internal/render turns the tables into
//
//   - enums_gen.go: a Go type per enum, typed constants with doc comments,
//     and String methods returning the C names (bit fields join their set
//     bits with "|");
//   - docs/abi.md: the reference tables of every enum, handle, structure
//     and call;
//   - csdk/include/mv_syscalls.h: the C header of the host C SDK, with
//     Microvisor's names and values, clean C11 and C++17;
//   - csdk/internal/hostabi/layout_gen.go: the cgo probe that reads the
//     host layout of that header (see NewFromOffsets);
//   - csdk/include/mv_gateways.ld: the linker-script fragment placing each
//     call at its secure-gateway address (gateways.go, Gateways), for
//     firmware built for the device and run by the emulator (emu/).
//
// To regenerate after editing a table:
//
//	go generate ./abi
//
// A test renders every output in memory and fails if a committed file is
// stale. The generator imports this package, so enums_gen.go must compile
// when it runs; edit the tables, never the generated files.
//
// # Layouts
//
// structs.go describes every structure of spec/abi.md as typed fields (u8,
// u16, u32, u64, pointer, handle, enum, enum8, nested struct, and the v1
// union of versioned structures), plus the three the header declares for
// non-network calls only (MvExternalFlashInfo, MvWifiConfig,
// MvWifiConfigOut; StructDecl.InSpec is false for them). Layouts are
// computed from it by the C rules for a given pointer size and enum width:
// Device (32-bit ARMv8-M, short enums) and X64 (gcc x86-64) are built in;
// NewFromOffsets builds the host ABI of the C SDK from offsets reported by
// cgo (package csdk/internal/hostabi), checking that every structure and
// field is accounted for. StructDecls gives the declarations themselves, as
// the header renders them.
//
// # Codecs
//
// The Read* and Write* methods of an ABI decode and encode the structures
// the kernel handles, with one CopyIn or CopyOut per structure through
// offsets computed once per ABI, and without allocating. Handles are
// pointer-sized in memory and 32-bit in Go; a stored handle too wide for 32
// bits decodes as 0, which is never a valid handle. A fault from mem is
// returned unchanged.
package abi

//go:generate go run ./internal/gen
