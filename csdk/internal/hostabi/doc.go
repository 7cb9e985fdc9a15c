// Package hostabi is the host ABI of the C SDK: the layout of every
// structure of csdk/include/mv_syscalls.h as the host C compiler lays it
// out, read through cgo rather than written by hand.
//
// layout_gen.go (generated with the header by go generate ./abi) names
// every structure, enum and field of the abi tables; the numbers are cgo's:
// C.sizeof_struct_X, unsafe.Offsetof on C.struct_X, and offsetof constants
// in the cgo preamble for the members of v1 unions, which cgo shows only as
// byte arrays. ABI feeds them to abi.NewFromOffsets, which checks that
// every structure and field is accounted for and consistent; the tests
// check that the result equals abi.X64 (spec/abi.md's x64 column) field by
// field, and that the header compiles cleanly as C11 and C++17 with gcc
// printing the same sizes and offsets.
//
// The package needs cgo; without it, it is empty.
package hostabi
