// Package firmware runs an application image — the exact .elf or .bin
// built for the device — on mvnet's Cortex-M33 emulator, behind the same
// kernel, cloud, trace and transcript as a host application
// (docs/firmware.md). It is the application of `mvnet run --firmware`:
// the runner executes mvnet's hidden emulate command, which calls Run.
//
// Run lays out an Arena as spec/firmware.md's memory map, loads the image
// (emu/loader), builds the STM32U585's peripherals (emu/stm32, with the
// board of MVNET_BOARD) and the machine (emu), and serves the image's
// system calls with a csdk/process.Process over the Arena (abi.Device):
// execution at a secure-gateway address traps into the process's dispatch
// table by call number (trap.go), so every call behaves exactly as in
// libmvnet.
//
// Time is the machine's virtual clock. In the default, deterministic mode
// the kernel's deliveries go through a queue (queue.go, the kernel's
// Options.Exec) applied only at the machine's sync points, and the
// kernel's clock is the machine's (kernel.Options.VirtualClock): the
// cloud follows it (link/doc.go, "Virtual time"). After each system call,
// and at each of the kernel's virtual timers (a redial's, SYNCED's
// next_us: rig.afterFunc, emu.Machine.SyncPoint — Halt ends the wait
// and a debugger is served meanwhile, as after a system call), the
// machine holds its time while a dial's
// outcome is not applied and, when the kernel has sent something, until
// the cloud's SYNCED is applied: every answer the cloud owed lands at the
// same instruction, and what the cloud times for the device (a latency
// fault, a request's timeout, a scenario's step) at the same virtual
// instant, so the same image, scenario and seed give the same transcript.
// While the link is down the image runs on. With Realtime the queue is
// applied as work arrives and the clock follows the wall clock.
package firmware
