// Package gdb is a GDB remote serial protocol (RSP) stub for the Cortex-M33
// emulator: gdb-multiarch or arm-none-eabi-gdb connects with
// "target remote HOST:PORT" and debugs the firmware as it would a board
// behind a debug probe — registers, memory, breakpoints, watchpoints, step,
// continue and ^C.
//
// The stub speaks the protocol; what it debugs is a Target, which package
// emu implements over its machine. Serve accepts one debugger connection at
// a time.
package gdb
