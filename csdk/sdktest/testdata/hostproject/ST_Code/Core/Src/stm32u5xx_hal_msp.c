/* The application's MSP hooks: kept in the host build. */
#include "stm32u5xx_hal.h"
#include "main.h"

void HAL_MspInit(void) {
    msp_ran = 1;
}
