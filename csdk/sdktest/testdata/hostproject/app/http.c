/* One HTTP GET with Microvisor's calls; returns the status code, or -1. */
#include <string.h>

#include "main.h"
#include "cmsis_os2.h"
#include "mv_syscalls.h"
#include "stm32u5xx_hal.h"

#define SLOTS 16
static volatile struct MvNotification ring[SLOTS] __attribute__((aligned(16)));
static volatile uint32_t slot;
static volatile int readable;
static uint8_t rx[4096] __attribute__((aligned(512)));
static uint8_t tx[2048] __attribute__((aligned(512)));

void TIM8_BRK_IRQHandler(void) {
    if (ring[slot].event_type == MV_EVENTTYPE_CHANNELDATAREADABLE) {
        readable = 1;
    }
    ring[slot].event_type = MV_EVENTTYPE_NOEVENT;
    slot = (slot + 1) % SLOTS;
}

int fetch(const char *url) {
    struct MvNotificationSetup ns = {.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
    MvNotificationHandle nh = 0;
    if (mvSetupNotifications(&ns, &nh) != MV_STATUS_OKAY) {
        return -1;
    }
    NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
    NVIC_EnableIRQ(TIM8_BRK_IRQn);
    struct MvRequestNetworkParams np = {.version = 1, .v1 = {.notification_handle = nh, .notification_tag = 1}};
    MvNetworkHandle net = 0;
    if (mvRequestNetwork(&np, &net) != MV_STATUS_OKAY) {
        return -1;
    }
    enum MvNetworkStatus st = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
    for (int i = 0; i < 3000 && st != MV_NETWORKSTATUS_CONNECTED; i++) {
        mvGetNetworkStatus(net, &st);
        osDelay(10);
    }
    struct MvOpenChannelParams cp = {.version = 1,
                                     .v1 = {.notification_handle = nh,
                                            .notification_tag = 2,
                                            .network_handle = net,
                                            .receive_buffer = rx,
                                            .receive_buffer_len = sizeof rx,
                                            .send_buffer = tx,
                                            .send_buffer_len = sizeof tx,
                                            .channel_type = MV_CHANNELTYPE_HTTP}};
    MvChannelHandle ch = 0;
    if (mvOpenChannel(&cp, &ch) != MV_STATUS_OKAY) {
        return -1;
    }
    struct MvHttpRequest req = {.method = {.data = (const uint8_t *)"GET", .length = 3},
                                .url = {.data = (const uint8_t *)url, .length = (uint32_t)strlen(url)},
                                .timeout_ms = 10000};
    if (mvSendHttpRequest(ch, &req) != MV_STATUS_OKAY) {
        return -1;
    }
    for (int i = 0; i < 3000 && !readable; i++) {
        osDelay(10);
    }
    struct MvHttpResponseData rd;
    if (!readable || mvReadHttpResponseData(ch, &rd) != MV_STATUS_OKAY || rd.result != MV_HTTPRESULT_OK) {
        return -1;
    }
    return (int)rd.status_code;
}
