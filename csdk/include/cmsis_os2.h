/*
 * cmsis_os2.h — mvnet host stand-in for the CMSIS-RTOS2 API (a subset).
 *
 * Microvisor applications run on FreeRTOS behind the CMSIS-RTOS2 API. On the
 * host mvnet implements that API on POSIX threads (csdk/rtos, linked into
 * libmvnet). Types, enumerations, constants and signatures are those of
 * CMSIS-RTOS2 2.1.3, so application code compiles unchanged; the text and
 * the implementation are mvnet's.
 *
 * How it differs from an RTOS on one Cortex-M core (details in
 * csdk/rtos/README.md):
 *   - Threads are pthreads and run in parallel; priorities are stored and
 *     reported but do not order execution. osKernelLock() records the lock
 *     state and does not stop other threads. Use mutexes, semaphores, queues
 *     or flags for exclusion, as portable CMSIS code does.
 *   - The kernel tick runs at the application's configTICK_RATE_HZ
 *     (FreeRTOSConfig.h; 1000 Hz without one): osKernelGetTickFreq()
 *     reports it. It counts from process start on the host's monotonic
 *     clock, from the same instant as HAL_GetTick().
 *   - Interrupt context is libmvnet's interrupt thread. There, as in an ISR,
 *     calls that may block return osErrorISR, and a timeout other than 0
 *     gives osErrorParameter; osMessageQueuePut/Get, osSemaphoreAcquire/
 *     Release, osEventFlagsSet/Clear/Get and osThreadFlagsSet work with
 *     timeout 0 and never wait.
 *   - osKernelStart() starts the threads created so far and then blocks its
 *     caller for good (it returns only on error). The process ends when a
 *     thread calls exit() or mvTestingComplete(), or on a signal.
 *   - Stack sizes, control-block and stack memory in the attributes are
 *     accepted and not used: every thread gets a host-sized stack.
 *   - FreeRTOS's native API (task.h, queue.h, semphr.h, timers.h,
 *     event_groups.h) works on the same objects: an osThreadId_t is the
 *     TaskHandle_t of the same thread, and so on.
 *   - Not provided: memory pools, osThreadSuspend/osThreadResume, thread
 *     watchdogs, safety classes, zones and the CMSIS-RTOS v1 API.
 */
#ifndef CMSIS_OS2_H_
#define CMSIS_OS2_H_

#ifndef __NO_RETURN
#if defined(__GNUC__) || defined(__clang__)
#define __NO_RETURN __attribute__((__noreturn__))
#else
#define __NO_RETURN
#endif
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Types and constants ================================================ */

typedef struct {
  uint32_t api;    /* API version, major.minor.rev as mmnnnrrrr decimal */
  uint32_t kernel; /* kernel version, same encoding */
} osVersion_t;

typedef enum {
  osKernelInactive = 0,
  osKernelReady = 1,
  osKernelRunning = 2,
  osKernelLocked = 3,
  osKernelSuspended = 4,
  osKernelError = -1,
  osKernelReserved = 0x7FFFFFFF
} osKernelState_t;

typedef enum {
  osThreadInactive = 0,
  osThreadReady = 1,
  osThreadRunning = 2,
  osThreadBlocked = 3,
  osThreadTerminated = 4,
  osThreadError = -1,
  osThreadReserved = 0x7FFFFFFF
} osThreadState_t;

typedef enum {
  osPriorityNone = 0,
  osPriorityIdle = 1,
  osPriorityLow = 8,
  osPriorityLow1 = 8 + 1,
  osPriorityLow2 = 8 + 2,
  osPriorityLow3 = 8 + 3,
  osPriorityLow4 = 8 + 4,
  osPriorityLow5 = 8 + 5,
  osPriorityLow6 = 8 + 6,
  osPriorityLow7 = 8 + 7,
  osPriorityBelowNormal = 16,
  osPriorityBelowNormal1 = 16 + 1,
  osPriorityBelowNormal2 = 16 + 2,
  osPriorityBelowNormal3 = 16 + 3,
  osPriorityBelowNormal4 = 16 + 4,
  osPriorityBelowNormal5 = 16 + 5,
  osPriorityBelowNormal6 = 16 + 6,
  osPriorityBelowNormal7 = 16 + 7,
  osPriorityNormal = 24,
  osPriorityNormal1 = 24 + 1,
  osPriorityNormal2 = 24 + 2,
  osPriorityNormal3 = 24 + 3,
  osPriorityNormal4 = 24 + 4,
  osPriorityNormal5 = 24 + 5,
  osPriorityNormal6 = 24 + 6,
  osPriorityNormal7 = 24 + 7,
  osPriorityAboveNormal = 32,
  osPriorityAboveNormal1 = 32 + 1,
  osPriorityAboveNormal2 = 32 + 2,
  osPriorityAboveNormal3 = 32 + 3,
  osPriorityAboveNormal4 = 32 + 4,
  osPriorityAboveNormal5 = 32 + 5,
  osPriorityAboveNormal6 = 32 + 6,
  osPriorityAboveNormal7 = 32 + 7,
  osPriorityHigh = 40,
  osPriorityHigh1 = 40 + 1,
  osPriorityHigh2 = 40 + 2,
  osPriorityHigh3 = 40 + 3,
  osPriorityHigh4 = 40 + 4,
  osPriorityHigh5 = 40 + 5,
  osPriorityHigh6 = 40 + 6,
  osPriorityHigh7 = 40 + 7,
  osPriorityRealtime = 48,
  osPriorityRealtime1 = 48 + 1,
  osPriorityRealtime2 = 48 + 2,
  osPriorityRealtime3 = 48 + 3,
  osPriorityRealtime4 = 48 + 4,
  osPriorityRealtime5 = 48 + 5,
  osPriorityRealtime6 = 48 + 6,
  osPriorityRealtime7 = 48 + 7,
  osPriorityISR = 56,
  osPriorityError = -1,
  osPriorityReserved = 0x7FFFFFFF
} osPriority_t;

typedef void (*osThreadFunc_t)(void *argument);
typedef void (*osTimerFunc_t)(void *argument);

typedef enum {
  osTimerOnce = 0,
  osTimerPeriodic = 1
} osTimerType_t;

/* Timeout meaning "wait as long as it takes". Other timeouts are kernel
 * ticks (milliseconds here); 0 means "do not wait". */
#define osWaitForever 0xFFFFFFFFU

/* Options of osThreadFlagsWait and osEventFlagsWait. */
#define osFlagsWaitAny 0x00000000U
#define osFlagsWaitAll 0x00000001U
#define osFlagsNoClear 0x00000002U

/* Errors returned in place of flags (the top bit is set). */
#define osFlagsError 0x80000000U
#define osFlagsErrorUnknown 0xFFFFFFFFU   /* osError */
#define osFlagsErrorTimeout 0xFFFFFFFEU   /* osErrorTimeout */
#define osFlagsErrorResource 0xFFFFFFFDU  /* osErrorResource */
#define osFlagsErrorParameter 0xFFFFFFFCU /* osErrorParameter */
#define osFlagsErrorISR 0xFFFFFFFAU       /* osErrorISR */

/* Thread attr_bits. */
#define osThreadDetached 0x00000000U
#define osThreadJoinable 0x00000001U

/* Mutex attr_bits. Only osMutexRecursive changes behaviour on the host. */
#define osMutexRecursive 0x00000001U
#define osMutexPrioInherit 0x00000002U
#define osMutexRobust 0x00000008U

typedef enum {
  osOK = 0,
  osError = -1,
  osErrorTimeout = -2,
  osErrorResource = -3,
  osErrorParameter = -4,
  osErrorNoMemory = -5,
  osErrorISR = -6,
  osStatusReserved = 0x7FFFFFFF
} osStatus_t;

typedef void *osThreadId_t;
typedef void *osTimerId_t;
typedef void *osEventFlagsId_t;
typedef void *osMutexId_t;
typedef void *osSemaphoreId_t;
typedef void *osMemoryPoolId_t;
typedef void *osMessageQueueId_t;

#ifndef TZ_MODULEID_T
#define TZ_MODULEID_T
typedef uint32_t TZ_ModuleId_t;
#endif

typedef struct {
  const char *name;     /* thread name (copied) */
  uint32_t attr_bits;   /* osThreadDetached or osThreadJoinable */
  void *cb_mem;         /* not used on the host */
  uint32_t cb_size;     /* not used on the host */
  void *stack_mem;      /* not used on the host */
  uint32_t stack_size;  /* reported by osThreadGetStackSize, not applied */
  osPriority_t priority; /* default osPriorityNormal; stored, not applied */
  TZ_ModuleId_t tz_module;
  union {
    uint32_t reserved;      /* CMSIS-RTOS2 2.1 name */
    uint32_t affinity_mask; /* CMSIS-RTOS2 2.3 name of the same word */
  };
} osThreadAttr_t;

typedef struct {
  const char *name;
  uint32_t attr_bits;
  void *cb_mem;
  uint32_t cb_size;
} osTimerAttr_t;

typedef struct {
  const char *name;
  uint32_t attr_bits;
  void *cb_mem;
  uint32_t cb_size;
} osEventFlagsAttr_t;

typedef struct {
  const char *name;
  uint32_t attr_bits; /* osMutexRecursive, osMutexPrioInherit, osMutexRobust */
  void *cb_mem;
  uint32_t cb_size;
} osMutexAttr_t;

typedef struct {
  const char *name;
  uint32_t attr_bits;
  void *cb_mem;
  uint32_t cb_size;
} osSemaphoreAttr_t;

typedef struct {
  const char *name;
  uint32_t attr_bits;
  void *cb_mem;
  uint32_t cb_size;
  void *mp_mem;
  uint32_t mp_size;
} osMemoryPoolAttr_t;

typedef struct {
  const char *name;
  uint32_t attr_bits;
  void *cb_mem;
  uint32_t cb_size;
  void *mq_mem;     /* not used on the host */
  uint32_t mq_size; /* not used on the host */
} osMessageQueueAttr_t;

/* ==== Kernel ============================================================= */

osStatus_t osKernelInitialize(void);
osStatus_t osKernelGetInfo(osVersion_t *version, char *id_buf, uint32_t id_size);
osKernelState_t osKernelGetState(void);
/* Lets the threads created so far run, then blocks the caller for good. */
osStatus_t osKernelStart(void);
/* Record and report the lock state only; other threads keep running. */
int32_t osKernelLock(void);
int32_t osKernelUnlock(void);
int32_t osKernelRestoreLock(int32_t lock);
uint32_t osKernelSuspend(void);        /* returns 0; nothing is suspended */
void osKernelResume(uint32_t sleep_ticks); /* no effect */
uint32_t osKernelGetTickCount(void);   /* ms since process start, wraps at 2^32 */
uint32_t osKernelGetTickFreq(void);    /* 1000 */
uint32_t osKernelGetSysTimerCount(void); /* counts at osKernelGetSysTimerFreq() */
uint32_t osKernelGetSysTimerFreq(void);  /* 160 MHz, the core clock */

/* ==== Threads ============================================================ */

osThreadId_t osThreadNew(osThreadFunc_t func, void *argument, const osThreadAttr_t *attr);
const char *osThreadGetName(osThreadId_t thread_id);
/* NULL outside threads made by osThreadNew (main, the interrupt thread). */
osThreadId_t osThreadGetId(void);
osThreadState_t osThreadGetState(osThreadId_t thread_id);
uint32_t osThreadGetStackSize(osThreadId_t thread_id);
uint32_t osThreadGetStackSpace(osThreadId_t thread_id); /* the stack size: no watermark on the host */
osStatus_t osThreadSetPriority(osThreadId_t thread_id, osPriority_t priority);
osPriority_t osThreadGetPriority(osThreadId_t thread_id);
osStatus_t osThreadYield(void);
osStatus_t osThreadDetach(osThreadId_t thread_id);
osStatus_t osThreadJoin(osThreadId_t thread_id);
__NO_RETURN void osThreadExit(void);
osStatus_t osThreadTerminate(osThreadId_t thread_id);
uint32_t osThreadGetCount(void);
uint32_t osThreadEnumerate(osThreadId_t *thread_array, uint32_t array_items);

/* ==== Thread flags ======================================================= */

uint32_t osThreadFlagsSet(osThreadId_t thread_id, uint32_t flags);
uint32_t osThreadFlagsClear(uint32_t flags);
uint32_t osThreadFlagsGet(void);
uint32_t osThreadFlagsWait(uint32_t flags, uint32_t options, uint32_t timeout);

/* ==== Delays ============================================================= */

osStatus_t osDelay(uint32_t ticks);
osStatus_t osDelayUntil(uint32_t ticks);

/* ==== Timers (callbacks run on one timer thread) ========================= */

osTimerId_t osTimerNew(osTimerFunc_t func, osTimerType_t type, void *argument, const osTimerAttr_t *attr);
const char *osTimerGetName(osTimerId_t timer_id);
osStatus_t osTimerStart(osTimerId_t timer_id, uint32_t ticks);
osStatus_t osTimerStop(osTimerId_t timer_id);
uint32_t osTimerIsRunning(osTimerId_t timer_id);
osStatus_t osTimerDelete(osTimerId_t timer_id);

/* ==== Event flags ======================================================== */

osEventFlagsId_t osEventFlagsNew(const osEventFlagsAttr_t *attr);
const char *osEventFlagsGetName(osEventFlagsId_t ef_id);
uint32_t osEventFlagsSet(osEventFlagsId_t ef_id, uint32_t flags);
uint32_t osEventFlagsClear(osEventFlagsId_t ef_id, uint32_t flags);
uint32_t osEventFlagsGet(osEventFlagsId_t ef_id);
uint32_t osEventFlagsWait(osEventFlagsId_t ef_id, uint32_t flags, uint32_t options, uint32_t timeout);
osStatus_t osEventFlagsDelete(osEventFlagsId_t ef_id);

/* ==== Mutexes ============================================================ */

osMutexId_t osMutexNew(const osMutexAttr_t *attr);
const char *osMutexGetName(osMutexId_t mutex_id);
osStatus_t osMutexAcquire(osMutexId_t mutex_id, uint32_t timeout);
osStatus_t osMutexRelease(osMutexId_t mutex_id);
osThreadId_t osMutexGetOwner(osMutexId_t mutex_id);
osStatus_t osMutexDelete(osMutexId_t mutex_id);

/* ==== Semaphores ========================================================= */

osSemaphoreId_t osSemaphoreNew(uint32_t max_count, uint32_t initial_count, const osSemaphoreAttr_t *attr);
const char *osSemaphoreGetName(osSemaphoreId_t semaphore_id);
osStatus_t osSemaphoreAcquire(osSemaphoreId_t semaphore_id, uint32_t timeout);
osStatus_t osSemaphoreRelease(osSemaphoreId_t semaphore_id);
uint32_t osSemaphoreGetCount(osSemaphoreId_t semaphore_id);
osStatus_t osSemaphoreDelete(osSemaphoreId_t semaphore_id);

/* ==== Message queues ===================================================== */

osMessageQueueId_t osMessageQueueNew(uint32_t msg_count, uint32_t msg_size, const osMessageQueueAttr_t *attr);
const char *osMessageQueueGetName(osMessageQueueId_t mq_id);
/* Higher msg_prio goes ahead of lower; equal priorities stay FIFO. */
osStatus_t osMessageQueuePut(osMessageQueueId_t mq_id, const void *msg_ptr, uint8_t msg_prio, uint32_t timeout);
osStatus_t osMessageQueueGet(osMessageQueueId_t mq_id, void *msg_ptr, uint8_t *msg_prio, uint32_t timeout);
uint32_t osMessageQueueGetCapacity(osMessageQueueId_t mq_id);
uint32_t osMessageQueueGetMsgSize(osMessageQueueId_t mq_id);
uint32_t osMessageQueueGetCount(osMessageQueueId_t mq_id);
uint32_t osMessageQueueGetSpace(osMessageQueueId_t mq_id);
osStatus_t osMessageQueueReset(osMessageQueueId_t mq_id);
osStatus_t osMessageQueueDelete(osMessageQueueId_t mq_id);

#ifdef __cplusplus
}
#endif

/* FreeRTOS.h (and the application's FreeRTOSConfig.h) come with it, as in
 * ST's wrapper: CMSIS-RTOS2 and the native API are one kernel here, whose
 * tick runs at configTICK_RATE_HZ. */
#include "FreeRTOS.h"

#endif /* CMSIS_OS2_H_ */
