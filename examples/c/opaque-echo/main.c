/*
 * opaque-echo: the deprecated byte-stream channel (MV_CHANNELTYPE_OPAQUEBYTES)
 * in C. mvnet's cloud echoes what such a channel sends, so the application
 * writes a message with mvWriteChannel, waits for CHANNELDATAREADABLE, reads
 * the echo with mvReadChannel / mvReadChannelComplete and compares.
 *
 * Exits 0 when every byte came back in order, 1 otherwise.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mv_syscalls.h"
#include "stm32u5xx_hal.h"

#define NOTIFICATION_SLOTS 16
#define TAG_NETWORK 1
#define TAG_ECHO 2

static volatile struct MvNotification notifications[NOTIFICATION_SLOTS] __attribute__((aligned(8)));
static volatile uint32_t notification_index = 0;

static uint8_t rx_buffer[1024];                              /* any size for OPAQUEBYTES */
static uint8_t tx_buffer[512] __attribute__((aligned(512))); /* 512-aligned, multiple of 512 */

static volatile bool network_changed = false;
static volatile bool readable = false;

void TIM1_BRK_IRQHandler(void) {
    volatile struct MvNotification *n = &notifications[notification_index];
    if (n->event_type == MV_EVENTTYPE_NETWORKSTATUSCHANGED) network_changed = true;
    if (n->event_type == MV_EVENTTYPE_CHANNELDATAREADABLE && n->tag == TAG_ECHO) readable = true;
    n->event_type = MV_EVENTTYPE_NOEVENT;
    notification_index = (notification_index + 1) % NOTIFICATION_SLOTS;
}

static void check(const char *what, enum MvStatus status) {
    if (status != MV_STATUS_OKAY) {
        printf("%s failed: status %u\n", what, (unsigned)status);
        exit(1);
    }
}

static bool wait_flag(volatile bool *flag, uint32_t timeout_ms) {
    uint32_t start = HAL_GetTick();
    while (!*flag) {
        if (HAL_GetTick() - start > timeout_ms) return false;
        HAL_Delay(1);
    }
    *flag = false;
    return true;
}

int main(void) {
    HAL_Init();
    memset((void *)notifications, 0, sizeof(notifications));
    struct MvNotificationSetup setup = {
        .irq = TIM1_BRK_IRQn,
        .buffer = (struct MvNotification *)notifications,
        .buffer_size = sizeof(notifications),
    };
    MvNotificationHandle centre = 0;
    check("mvSetupNotifications", mvSetupNotifications(&setup, &centre));
    NVIC_EnableIRQ(TIM1_BRK_IRQn);

    struct MvRequestNetworkParams net_params = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = TAG_NETWORK}};
    MvNetworkHandle network = 0;
    check("mvRequestNetwork", mvRequestNetwork(&net_params, &network));
    enum MvNetworkStatus net_status = MV_NETWORKSTATUS_CONNECTING;
    while (check("mvGetNetworkStatus", mvGetNetworkStatus(network, &net_status)), net_status != MV_NETWORKSTATUS_CONNECTED) {
        if (!wait_flag(&network_changed, 15000)) {
            printf("network did not connect\n");
            return 1;
        }
    }

    struct MvOpenChannelParams params = {
        .version = 1,
        .v1 = {
            .notification_handle = centre,
            .notification_tag = TAG_ECHO,
            .network_handle = network,
            .receive_buffer = rx_buffer,
            .receive_buffer_len = sizeof(rx_buffer),
            .send_buffer = tx_buffer,
            .send_buffer_len = sizeof(tx_buffer),
            .channel_type = MV_CHANNELTYPE_OPAQUEBYTES,
            .endpoint = {.data = (uint8_t *)"", .length = 0},
        },
    };
    MvChannelHandle channel = 0;
    check("mvOpenChannel", mvOpenChannel(&params, &channel));

    const char message[] = "Hello, Microvisor, from the host!";
    const uint32_t length = sizeof(message) - 1;
    uint32_t available = 0;
    check("mvWriteChannel", mvWriteChannel(channel, (const uint8_t *)message, length, &available));
    printf("wrote %u bytes, %u bytes of send buffer free\n", (unsigned)length, (unsigned)available);

    char echo[sizeof(message)] = {0};
    uint32_t got = 0;
    while (got < length) {
        if (!wait_flag(&readable, 15000)) {
            printf("no echo after %u bytes\n", (unsigned)got);
            return 1;
        }
        uint8_t *data = NULL;
        uint32_t n = 0;
        check("mvReadChannel", mvReadChannel(channel, &data, &n));
        if (n > length - got) n = length - got;
        memcpy(echo + got, data, n);
        got += n;
        check("mvReadChannelComplete", mvReadChannelComplete(channel, n));
    }
    printf("echo: %s\n", echo);

    check("mvCloseChannel", mvCloseChannel(&channel));
    check("mvReleaseNetwork", mvReleaseNetwork(&network));
    check("mvCloseNotifications", mvCloseNotifications(&centre));
    return strcmp(echo, message) == 0 ? 0 : 1;
}
