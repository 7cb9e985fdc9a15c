/*
 * cmsis_os.h — mvnet host stand-in: the CMSIS-RTOS header name that STM32Cube
 * projects include. Like ST's CMSIS_RTOS_V2 wrapper it brings in the
 * CMSIS-RTOS2 API (cmsis_os2.h) and FreeRTOS's headers — FreeRTOS.h and with
 * it the application's FreeRTOSConfig.h, task.h, queue.h, semphr.h, timers.h
 * and event_groups.h — so configMINIMAL_STACK_SIZE, configTICK_RATE_HZ and
 * the native calls are at hand after including only this header. The older
 * CMSIS-RTOS v1 API (osThreadDef, osMessageCreate, …) is not provided.
 */
#ifndef MVNET_CMSIS_OS_H
#define MVNET_CMSIS_OS_H

#include "cmsis_os2.h"

#include "FreeRTOS.h"
#include "task.h"
#include "queue.h"
#include "semphr.h"
#include "timers.h"
#include "event_groups.h"

#endif /* MVNET_CMSIS_OS_H */
