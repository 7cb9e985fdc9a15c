/* The application's FreeRTOS configuration (found through the FreeRTOS
 * target's Config/ include directory). */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H
#define configMINIMAL_STACK_SIZE 128
#define configTICK_RATE_HZ 1000
#endif
