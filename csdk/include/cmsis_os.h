/*
 * cmsis_os.h — mvnet host stand-in: the CMSIS-RTOS header name that STM32Cube
 * projects include. It brings in the CMSIS-RTOS2 API (cmsis_os2.h), which is
 * what Microvisor applications call; the older CMSIS-RTOS v1 API (osThreadDef,
 * osMessageCreate, …) is not provided.
 */
#ifndef MVNET_CMSIS_OS_H
#define MVNET_CMSIS_OS_H

#include "cmsis_os2.h"

#endif /* MVNET_CMSIS_OS_H */
