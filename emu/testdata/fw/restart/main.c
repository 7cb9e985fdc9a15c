/*
 * restart: log a line, restart, log another line and exit 10. The first
 * boot (wake reason COLDBOOT) logs "restart: line-one!!" and restarts —
 * with mvRestart, or with NVIC_SystemReset (AIRCR.SYSRESETREQ) when
 * FW_SYSTEM_RESET is 1; the second boot logs "restart: line-two!!" and
 * its wake reason and finishes with mvTestingComplete(10). Both lines must
 * reach the cloud's log: each boot numbers its lines afresh.
 */
#include <stdint.h>

#include "fw.h"

#ifndef FW_SYSTEM_RESET
#define FW_SYSTEM_RESET 0
#endif

#define SCB_AIRCR REG32(0xE000ED0Cu)
#define AIRCR_VECTKEY (0x05FAu << 16)
#define AIRCR_SYSRESETREQ (1u << 2)

int main(void) {
    fw_log_init();
    enum MvWakeReason reason = MV_WAKEREASON_COLDBOOT;
    enum MvStatus status = mvGetWakeReason(&reason);
    if (status != MV_STATUS_OKAY) fw_fail("mvGetWakeReason", status);
    if (reason != MV_WAKEREASON_COLDBOOT) {
        fw_log("restart: line-two!! wake reason %u", (unsigned)reason);
        fw_exit(10);
    }
    fw_log("restart: line-one!!");
    if (FW_SYSTEM_RESET) {
        __asm volatile("dsb 0xF" ::: "memory");
        SCB_AIRCR = AIRCR_VECTKEY | AIRCR_SYSRESETREQ;
        __asm volatile("dsb 0xF" ::: "memory");
        for (;;) {
        }
    }
    status = mvRestart(MV_RESTARTMODE_AUTOAPPLYUPDATE);
    fw_fail("mvRestart", status);
}
