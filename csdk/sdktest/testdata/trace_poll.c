/* A polling loop under the trace, as real projects wait for the network:
 * mvGetNetworkStatus in a tight loop until CONNECTED and then POLLS times
 * more; an LED written WRITES times to the level it already has; then
 * toggled TOGGLES times (each toggle changes the pin).
 * Usage: trace_poll POLLS WRITES TOGGLES. With POLLS 0 the network is not
 * requested at all. Prints the number of mvGetNetworkStatus calls. */
#include <stdio.h>
#include <stdlib.h>

#include "mv_syscalls.h"
#include "stm32u5xx_hal.h"

static volatile struct MvNotification ring[16];

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: trace_poll POLLS WRITES TOGGLES\n");
        return 2;
    }
    long polls = atol(argv[1]), writes = atol(argv[2]), toggles = atol(argv[3]);
    long calls = 0;
    if (polls > 0) {
        struct MvNotificationSetup setup = {.irq = TIM2_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof(ring)};
        MvNotificationHandle centre = 0;
        if (mvSetupNotifications(&setup, &centre) != MV_STATUS_OKAY) return 1;
        struct MvRequestNetworkParams rp = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = 1}};
        MvNetworkHandle nh = 0;
        if (mvRequestNetwork(&rp, &nh) != MV_STATUS_OKAY) return 1;
        enum MvNetworkStatus st = MV_NETWORKSTATUS_CONNECTING;
        while (st != MV_NETWORKSTATUS_CONNECTED) {
            if (mvGetNetworkStatus(nh, &st) != MV_STATUS_OKAY) return 1;
            calls++;
        }
        for (long i = 0; i < polls; i++) {
            if (mvGetNetworkStatus(nh, &st) != MV_STATUS_OKAY || st != MV_NETWORKSTATUS_CONNECTED) return 1;
            calls++;
        }
    }
    __HAL_RCC_GPIOA_CLK_ENABLE();
    GPIO_InitTypeDef init = {.Pin = GPIO_PIN_5, .Mode = GPIO_MODE_OUTPUT_PP, .Pull = GPIO_NOPULL, .Speed = GPIO_SPEED_FREQ_LOW};
    HAL_GPIO_Init(GPIOA, &init);
    for (long i = 0; i < writes; i++) HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_SET);
    for (long i = 0; i < toggles; i++) HAL_GPIO_TogglePin(GPIOA, GPIO_PIN_5);
    printf("calls=%ld\n", calls);
    return 0;
}
