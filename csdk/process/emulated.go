package process

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/mem"
)

// The clock frequencies the host reports, those of an STM32U585 running at
// its maximum: the CPU, AHB and both APB buses at 160 MHz.
const (
	SysClkHz = 160_000_000
	HClkHz   = 160_000_000
	PClk1Hz  = 160_000_000
	PClk2Hz  = 160_000_000
)

type emulation struct {
	note    string
	noStart bool
	fn      func(p *Process, k *kernel.Kernel, a *kernel.Args) abi.Status
}

// emulated are the header's calls the C SDK answers itself because the
// kernel does not serve them. A kernel handler for the same name takes
// precedence (buildTable).
var emulated = map[string]emulation{
	"mvNoOp":      {"succeeds", true, func(*Process, *kernel.Kernel, *kernel.Args) abi.Status { return abi.StatusOkay }},
	"mvGetSysClk": {fmt.Sprintf("%d Hz (STM32U585 SYSCLK)", SysClkHz), true, clock(SysClkHz)},
	"mvGetHClk":   {fmt.Sprintf("%d Hz (STM32U585 HCLK)", HClkHz), true, clock(HClkHz)},
	"mvGetPClk1":  {fmt.Sprintf("%d Hz (STM32U585 PCLK1)", PClk1Hz), true, clock(PClk1Hz)},
	"mvGetPClk2":  {fmt.Sprintf("%d Hz (STM32U585 PCLK2)", PClk2Hz), true, clock(PClk2Hz)},
	"mvSystemLedEnable": {"succeeds; the LED state is only traced", true,
		func(p *Process, _ *kernel.Kernel, a *kernel.Args) abi.Status {
			p.led.Store(a[0] != 0)
			return abi.StatusOkay
		}},
	"mvTestingComplete": {"flushes the trace and stdio, then exits with the status (255 if it does not fit 8 bits)", true,
		(*Process).testingComplete},
	"mvRestart": {"re-executes the application (same arguments and environment, MVNET_RESTARTS counts); mode must be AUTOAPPLYUPDATE", true,
		(*Process).restart},
	"mvGetWakeReason": {"COLDBOOT at first; after mvRestart or NVIC_SystemReset REMOTEAPPLICATIONRESTART, or APPLICATIONUPDATE if an update was announced", true, (*Process).wakeReason},
}

// clock writes a fixed frequency through a uint32_t pointer.
func clock(hz uint32) func(*Process, *kernel.Kernel, *kernel.Args) abi.Status {
	return func(p *Process, _ *kernel.Kernel, a *kernel.Args) abi.Status {
		if abi.WriteUint32(p.o.Memory, mem.Addr(a[0]), hz) != nil {
			return abi.StatusParameterFault
		}
		return abi.StatusOkay
	}
}

// ExitCode is the process exit status for mvTestingComplete(status): the
// status itself if it fits 8 bits, else 255 so that a failure never reads
// as success.
func ExitCode(status uint32) int {
	if status > 255 {
		return 255
	}
	return int(status)
}

func (p *Process) testingComplete(_ *kernel.Kernel, a *kernel.Args) abi.Status {
	code := ExitCode(uint32(a[0]))
	p.trace.syscall(&p.calls[callIndex("mvTestingComplete")], a, abi.StatusOkay, nil)
	p.finishStore()
	p.trace.exit(code)
	p.trace.close()
	p.o.Exit(code)
	return abi.StatusOkay // only when Exit is a test's stand-in
}

// restartEnv is the environment for the re-executed application: the same,
// with MVNET_RESTARTS counting, the device ID kept, the wake reason the
// restart gives (restartReason) and the board's timeline going on
// (boardEnv).
func (p *Process) restartEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, EnvRestarts+"=") || strings.HasPrefix(kv, EnvDeviceID+"=") ||
			strings.HasPrefix(kv, EnvWakeReason+"=") || strings.HasPrefix(kv, EnvBoardEpoch+"=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		EnvRestarts+"="+strconv.Itoa(p.cfg.Restarts+1),
		EnvDeviceID+"="+p.cfg.DeviceID,
		EnvWakeReason+"="+strconv.Itoa(int(p.restartReason())))
	return append(env, p.boardEnv()...)
}

// restartReason is the MvWakeReason the restarted application reads. The
// enum (spec/abi.md) has no value for a restart the application asks for
// itself: mvRestart(MV_RESTARTMODE_AUTOAPPLYUPDATE) applies an update the
// cloud has announced (UPDATEDOWNLOADED), which makes it APPLICATIONUPDATE;
// without one it is an application restart, REMOTEAPPLICATIONRESTART —
// anything but COLDBOOT, which would say the device lost power.
func (p *Process) restartReason() abi.WakeReason {
	if p.started.Load() && p.k != nil && p.k.UpdatePending() {
		return abi.WakeReasonApplicationUpdate
	}
	return abi.WakeReasonRemoteApplicationRestart
}

func (p *Process) restart(_ *kernel.Kernel, a *kernel.Args) abi.Status {
	if uint32(a[0]) != uint32(abi.RestartModeAutoApplyUpdate) {
		return abi.StatusParameterFault // spec: unknown restart mode
	}
	p.trace.syscall(&p.calls[callIndex("mvRestart")], a, abi.StatusOkay, nil)
	p.trace.note("restart", "restarts", strconv.Itoa(p.cfg.Restarts+1))
	p.finishStore()
	err := p.o.Restart(p.restartEnv())
	p.log.Error("mvRestart: re-executing the application failed", "err", err)
	return abi.StatusMicrovisorBusy
}

// SystemReset is NVIC_SystemReset: like mvRestart; it returns only if the
// restart failed.
func (p *Process) SystemReset() {
	p.trace.note("restart", "restarts", strconv.Itoa(p.cfg.Restarts+1), "by", "NVIC_SystemReset")
	p.finishStore()
	err := p.o.Restart(p.restartEnv())
	p.log.Error("NVIC_SystemReset: re-executing the application failed", "err", err)
}

// ExecSelf re-executes the running program with env, the default
// Options.Restart: /proc/self/exe (the same binary even if its file was
// replaced) with the same arguments. It returns only on failure.
func ExecSelf(env []string) error {
	if len(os.Args) == 0 {
		return errors.New("no program arguments to re-execute with")
	}
	return syscall.Exec("/proc/self/exe", os.Args, env)
}

func (p *Process) wakeReason(_ *kernel.Kernel, a *kernel.Args) abi.Status {
	var b [4]byte
	n := 4
	if p.o.ABI.ShortEnums() {
		n = 1 // MvWakeReason is a 1-byte enum on the device
	}
	// COLDBOOT (0) unless the library restarted the application
	// (EnvWakeReason).
	binary.LittleEndian.PutUint32(b[:], uint32(p.cfg.WakeReason))
	if p.o.Memory.CopyOut(mem.Addr(a[0]), b[:n]) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// callIndex is the number of a call by name (-1 if unknown).
func callIndex(name string) int {
	for i, c := range callTable() {
		if c.Name == name {
			return i
		}
	}
	return -1
}
