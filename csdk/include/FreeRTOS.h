/*
 * FreeRTOS.h — mvnet host stand-in for FreeRTOS's main header.
 *
 * Microvisor applications run on FreeRTOS, mostly behind CMSIS-RTOS2 but
 * often with native calls beside it (xTaskCreate, vTaskDelay, xQueueSend…).
 * On the host both APIs are served by one implementation on POSIX threads
 * (csdk/rtos, linked into libmvnet): a TaskHandle_t and the osThreadId_t of
 * the same thread are the same object, and so are queues, semaphores,
 * mutexes, timers and event groups, as in ST's CMSIS-RTOS2 wrapper. Names,
 * types, values and signatures are FreeRTOS V10's; the text and the
 * implementation are mvnet's. csdk/rtos/README.md says how the host differs.
 *
 * As on the device, this header includes the application's own
 * "FreeRTOSConfig.h" when the include path has one, then gives every config*
 * macro the application did not define FreeRTOS's default (mvnet's host
 * default where FreeRTOS has none). The settings libmvnet acts on
 * (configTICK_RATE_HZ, configMAX_PRIORITIES, configMAX_TASK_NAME_LEN,
 * configTOTAL_HEAP_SIZE, configUSE_MALLOC_FAILED_HOOK,
 * configSUPPORT_STATIC_ALLOCATION, configUSE_TIMERS) reach it through the
 * object mvnet_freertos_config below, defined (weak) in each file that
 * includes this header with a FreeRTOSConfig.h.
 */
#ifndef INC_FREERTOS_H
#define INC_FREERTOS_H

#include <stddef.h>
#include <stdint.h>

/* Inside extern "C", as FreeRTOS includes it: a C++ file then declares the
 * configuration's `extern uint32_t SystemCoreClock;` with C linkage. */
#ifdef __cplusplus
extern "C" {
#endif
#if defined(__has_include)
#if __has_include("FreeRTOSConfig.h")
#include "FreeRTOSConfig.h"
#define MVNET_FREERTOS_APP_CONFIG 1
#endif
#endif
#ifdef __cplusplus
}
#endif
#ifndef MVNET_FREERTOS_APP_CONFIG
#define MVNET_FREERTOS_APP_CONFIG 0
#endif

#include "projdefs.h"
#include "portmacro.h"

/* ---- Defaults for what FreeRTOSConfig.h did not define ------------------- */

#ifndef configTICK_RATE_HZ
#define configTICK_RATE_HZ ((TickType_t)1000)
#endif
#ifndef configCPU_CLOCK_HZ
#define configCPU_CLOCK_HZ (160000000UL)
#endif
#ifndef configMAX_PRIORITIES
#define configMAX_PRIORITIES (56)
#endif
#ifndef configMINIMAL_STACK_SIZE
#define configMINIMAL_STACK_SIZE ((uint16_t)128)
#endif
#ifndef configTOTAL_HEAP_SIZE
#define configTOTAL_HEAP_SIZE ((size_t)(64 * 1024)) /* mvnet's: FreeRTOS has none */
#endif
#ifndef configMAX_TASK_NAME_LEN
#define configMAX_TASK_NAME_LEN 16
#endif
#ifndef configUSE_PREEMPTION
#define configUSE_PREEMPTION 1
#endif
#ifndef configUSE_IDLE_HOOK
#define configUSE_IDLE_HOOK 0
#endif
#ifndef configUSE_TICK_HOOK
#define configUSE_TICK_HOOK 0
#endif
#ifndef configUSE_16_BIT_TICKS
#define configUSE_16_BIT_TICKS 0
#endif
#ifndef configUSE_MUTEXES
#define configUSE_MUTEXES 0
#endif
#ifndef configUSE_RECURSIVE_MUTEXES
#define configUSE_RECURSIVE_MUTEXES 0
#endif
#ifndef configUSE_COUNTING_SEMAPHORES
#define configUSE_COUNTING_SEMAPHORES 0
#endif
#ifndef configUSE_TASK_NOTIFICATIONS
#define configUSE_TASK_NOTIFICATIONS 1
#endif
#ifndef configUSE_TIMERS
#define configUSE_TIMERS 0
#endif
#ifndef configTIMER_TASK_PRIORITY
#define configTIMER_TASK_PRIORITY (configMAX_PRIORITIES - 1)
#endif
#ifndef configTIMER_QUEUE_LENGTH
#define configTIMER_QUEUE_LENGTH 10
#endif
#ifndef configTIMER_TASK_STACK_DEPTH
#define configTIMER_TASK_STACK_DEPTH configMINIMAL_STACK_SIZE
#endif
#ifndef configSUPPORT_STATIC_ALLOCATION
#define configSUPPORT_STATIC_ALLOCATION 0
#endif
#ifndef configSUPPORT_DYNAMIC_ALLOCATION
#define configSUPPORT_DYNAMIC_ALLOCATION 1
#endif
#ifndef configUSE_MALLOC_FAILED_HOOK
#define configUSE_MALLOC_FAILED_HOOK 0
#endif
#ifndef configCHECK_FOR_STACK_OVERFLOW
#define configCHECK_FOR_STACK_OVERFLOW 0
#endif
#ifndef configUSE_DAEMON_TASK_STARTUP_HOOK
#define configUSE_DAEMON_TASK_STARTUP_HOOK 0
#endif
#ifndef configIDLE_SHOULD_YIELD
#define configIDLE_SHOULD_YIELD 1
#endif
#ifndef configUSE_TIME_SLICING
#define configUSE_TIME_SLICING 1
#endif
#ifndef configUSE_TRACE_FACILITY
#define configUSE_TRACE_FACILITY 0
#endif
#ifndef configUSE_STATS_FORMATTING_FUNCTIONS
#define configUSE_STATS_FORMATTING_FUNCTIONS 0
#endif
#ifndef configGENERATE_RUN_TIME_STATS
#define configGENERATE_RUN_TIME_STATS 0
#endif
#ifndef configQUEUE_REGISTRY_SIZE
#define configQUEUE_REGISTRY_SIZE 0U
#endif
#ifndef configUSE_QUEUE_SETS
#define configUSE_QUEUE_SETS 0
#endif
#ifndef configUSE_CO_ROUTINES
#define configUSE_CO_ROUTINES 0
#endif
#ifndef configUSE_APPLICATION_TASK_TAG
#define configUSE_APPLICATION_TASK_TAG 0
#endif
#ifndef configNUM_THREAD_LOCAL_STORAGE_POINTERS
#define configNUM_THREAD_LOCAL_STORAGE_POINTERS 0
#endif
#ifndef configUSE_NEWLIB_REENTRANT
#define configUSE_NEWLIB_REENTRANT 0
#endif
#ifndef configUSE_PORT_OPTIMISED_TASK_SELECTION
#define configUSE_PORT_OPTIMISED_TASK_SELECTION 0
#endif
#ifndef configUSE_TICKLESS_IDLE
#define configUSE_TICKLESS_IDLE 0
#endif
#ifndef configEXPECTED_IDLE_TIME_BEFORE_SLEEP
#define configEXPECTED_IDLE_TIME_BEFORE_SLEEP 2
#endif
#ifndef configINITIAL_TICK_COUNT
#define configINITIAL_TICK_COUNT 0
#endif
#ifndef configSTACK_DEPTH_TYPE
#define configSTACK_DEPTH_TYPE uint16_t
#endif
#ifndef configMESSAGE_BUFFER_LENGTH_TYPE
#define configMESSAGE_BUFFER_LENGTH_TYPE size_t
#endif
#ifndef configAPPLICATION_ALLOCATED_HEAP
#define configAPPLICATION_ALLOCATED_HEAP 0
#endif
#ifndef configENABLE_BACKWARD_COMPATIBILITY
#define configENABLE_BACKWARD_COMPATIBILITY 1
#endif
#ifndef configUSE_POSIX_ERRNO
#define configUSE_POSIX_ERRNO 0
#endif
#ifndef configENABLE_FPU
#define configENABLE_FPU 1
#endif
#ifndef configENABLE_MPU
#define configENABLE_MPU 0
#endif
#ifndef configENABLE_TRUSTZONE
#define configENABLE_TRUSTZONE 0
#endif
#ifndef configASSERT
#define configASSERT(x)
#define configASSERT_DEFINED 0
#else
#define configASSERT_DEFINED 1
#endif

#ifndef INCLUDE_vTaskPrioritySet
#define INCLUDE_vTaskPrioritySet 1
#endif
#ifndef INCLUDE_uxTaskPriorityGet
#define INCLUDE_uxTaskPriorityGet 1
#endif
#ifndef INCLUDE_vTaskDelete
#define INCLUDE_vTaskDelete 1
#endif
#ifndef INCLUDE_vTaskSuspend
#define INCLUDE_vTaskSuspend 1
#endif
#ifndef INCLUDE_vTaskDelayUntil
#define INCLUDE_vTaskDelayUntil 1
#endif
#ifndef INCLUDE_xTaskDelayUntil
#define INCLUDE_xTaskDelayUntil 1
#endif
#ifndef INCLUDE_vTaskDelay
#define INCLUDE_vTaskDelay 1
#endif
#ifndef INCLUDE_xTaskGetSchedulerState
#define INCLUDE_xTaskGetSchedulerState 1
#endif
#ifndef INCLUDE_xTaskGetCurrentTaskHandle
#define INCLUDE_xTaskGetCurrentTaskHandle 1
#endif
#ifndef INCLUDE_uxTaskGetStackHighWaterMark
#define INCLUDE_uxTaskGetStackHighWaterMark 1
#endif
#ifndef INCLUDE_eTaskGetState
#define INCLUDE_eTaskGetState 1
#endif
#ifndef INCLUDE_xTimerPendFunctionCall
#define INCLUDE_xTimerPendFunctionCall 0
#endif
#ifndef INCLUDE_xQueueGetMutexHolder
#define INCLUDE_xQueueGetMutexHolder 1
#endif

/* ---- Heap (FreeRTOS's portable.h) ---------------------------------------
 * pvPortMalloc allocates from the host's heap but counts against
 * configTOTAL_HEAP_SIZE: past it, it returns NULL (and calls
 * vApplicationMallocFailedHook when configUSE_MALLOC_FAILED_HOOK is 1). */
#ifdef __cplusplus
extern "C" {
#endif
void *pvPortMalloc(size_t xWantedSize);
void vPortFree(void *pv);
size_t xPortGetFreeHeapSize(void);
size_t xPortGetMinimumEverFreeHeapSize(void);
__attribute__((visibility("default"))) void vApplicationMallocFailedHook(void);
#ifdef __cplusplus
}
#endif

/* ---- Names kept for older code (configENABLE_BACKWARD_COMPATIBILITY) ----- */
#if configENABLE_BACKWARD_COMPATIBILITY == 1
#define eTaskStateGet eTaskGetState
#define portTickType TickType_t
#define xTaskHandle TaskHandle_t
#define xQueueHandle QueueHandle_t
#define xSemaphoreHandle SemaphoreHandle_t
#define xQueueSetHandle QueueSetHandle_t
#define xQueueSetMemberHandle QueueSetMemberHandle_t
#define xTimeOutType TimeOut_t
#define xMemoryRegion MemoryRegion_t
#define xTaskParameters TaskParameters_t
#define xTaskStatusType TaskStatus_t
#define xTimerHandle TimerHandle_t
#define xCoRoutineHandle CoRoutineHandle_t
#define pdTASK_HOOK_CODE TaskHookFunction_t
#define tmrTIMER_CALLBACK TimerCallbackFunction_t
#define pdTASK_CODE TaskFunction_t
#define xListItem ListItem_t
#define xList List_t
#define portTICK_RATE_MS portTICK_PERIOD_MS
#define pcTaskGetTaskName pcTaskGetName
#define pcTimerGetTimerName pcTimerGetName
#endif

/* ---- Static-allocation buffers -------------------------------------------
 * The *Static creators accept these and do not use them (the host allocates
 * its own control blocks), so only their names and rough sizes matter. */
typedef struct xSTATIC_MVNET {
  void *pvDummy[16];
} StaticTask_t;
typedef StaticTask_t StaticQueue_t;
typedef StaticQueue_t StaticSemaphore_t;
typedef StaticTask_t StaticTimer_t;
typedef StaticTask_t StaticEventGroup_t;

/* ---- What libmvnet reads of the configuration ----------------------------
 * Internal. A weak definition in every file that includes this header with
 * the application's FreeRTOSConfig.h in reach (all copies are equal), so
 * libmvnet, built without that file, acts on the application's settings.
 * Files compiled without one define nothing: libmvnet's defaults are those
 * below, and a file of the application that happens to lack the include
 * path cannot override the configuration with them. */
typedef struct mvnet_freertos_config {
  uint32_t tick_rate_hz;
  uint32_t max_priorities;
  uint32_t max_task_name_len;
  uint32_t use_malloc_failed_hook;
  uint32_t support_static_allocation;
  uint32_t use_timers;
  size_t total_heap_size;
} mvnet_freertos_config_t;

#ifdef __cplusplus
extern "C" {
#endif
extern const mvnet_freertos_config_t mvnet_freertos_config;
#if !defined(MVNET_FREERTOS_LIBRARY) && MVNET_FREERTOS_APP_CONFIG
#ifdef __cplusplus
#define MVNET_FREERTOS_CONFIG_LINKAGE extern /* a const has internal linkage in C++ otherwise */
#else
#define MVNET_FREERTOS_CONFIG_LINKAGE
#endif
MVNET_FREERTOS_CONFIG_LINKAGE __attribute__((weak, visibility("default"))) const mvnet_freertos_config_t
    mvnet_freertos_config = {
    (uint32_t)(configTICK_RATE_HZ),
    (uint32_t)(configMAX_PRIORITIES),
    (uint32_t)(configMAX_TASK_NAME_LEN),
    (uint32_t)(configUSE_MALLOC_FAILED_HOOK),
    (uint32_t)(configSUPPORT_STATIC_ALLOCATION),
    (uint32_t)(configUSE_TIMERS),
    (size_t)(configTOTAL_HEAP_SIZE),
};
#endif
#ifdef __cplusplus
}
#endif

#endif /* INC_FREERTOS_H */
