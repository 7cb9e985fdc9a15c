/*
 * mvnet build fixture: HAL start-up as the samples write it, a CMSIS-RTOS2
 * thread that fetches APP_URL over Microvisor's HTTP calls, then ends the
 * test with the outcome (mvTestingComplete).
 */
#include "main.h"
#include "cmsis_os2.h"
#include "mv_syscalls.h"
#include "stm32u5xx_hal.h"

volatile uint8_t msp_ran;

static void network_task(void *arg) {
    (void)arg;
    int status = fetch(APP_URL);
    printf("HTTP status %d\n", status);
    mvTestingComplete(status == 200 ? 0 : 1);
}

int main(void) {
    HAL_Init(); /* calls HAL_MspInit, in the ST_Code library */
    __HAL_RCC_GPIOA_CLK_ENABLE();
    GPIO_InitTypeDef gpio = {0};
    gpio.Pin = GPIO_PIN_5;
    gpio.Mode = GPIO_MODE_OUTPUT_PP;
    gpio.Pull = GPIO_NOPULL;
    gpio.Speed = GPIO_SPEED_FREQ_LOW;
    /* assert without <assert.h>, as on the device. */
    assert(gpio.Pin == GPIO_PIN_5);
    HAL_GPIO_Init(GPIOA, &gpio);
    HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_SET);
    printf("fixture started, HAL_MspInit ran: %s\n", msp_ran ? "yes" : "no");

    osKernelInitialize();
    osThreadAttr_t attr = {.name = "network", .stack_size = 4096};
    osThreadNew(network_task, NULL, &attr);
    osKernelStart();
    for (;;) {
    }
}
