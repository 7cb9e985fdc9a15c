// Package rtos holds the C sources of mvnet's host implementation of the
// CMSIS-RTOS2 API (csdk/include/cmsis_os2.h) on POSIX threads: kernel
// state and ticks, threads and thread flags, delays, message queues,
// mutexes, semaphores, event flags and timers. libmvnet compiles the C files
// in this directory into itself. See README.md for how the host differs from
// an RTOS on one Cortex-M core.
//
// The package has no Go API. Its tests compile the C sources with the host's
// gcc together with the C programs in testdata and check their behaviour.
package rtos
