/*
 * config-log: fetch settings from the cloud and log to it, in C, written as
 * a device application is, and runnable on a PC against mvnet's C SDK.
 *
 *   server logging → notification centre → network → CONFIGFETCH channel →
 *   fetch an account config value and a device secret in one request →
 *   interrupt sets a flag → read each item → log what was found → close
 *   channel
 *
 * The keys come from the arguments (default "broker-host", a config value
 * shared by the account, and "api-key", a secret of this device). The
 * secret's value is never printed nor logged: only its length.
 *
 * On a PC the embedded cloud answers the fetch from its store; seed it with
 * a JSON file (docs/c-sdk.md, "Config, secrets and server logs"):
 *
 *   echo '{"configs": {"broker-host": "mqtt.example.com"},
 *          "device_secrets": {"api-key": "s3cr3t"}}' > config.json
 *   MVNET_CONFIG_FILE=config.json ./config-log
 *
 * Server log lines are echoed to stderr as the cloud stores them
 * ("[mvServerLog] ..."). The process exits 0 when both keys were found,
 * 1 otherwise.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mv_syscalls.h"
#include "stm32u5xx_hal.h"

#define NOTIFICATION_SLOTS 16
#define TAG_NETWORK 1
#define TAG_CONFIG 2

#define RX_BUFFER_SIZE 4096
#define TX_BUFFER_SIZE 1024
#define LOG_BUFFER_SIZE 4096
#define VALUE_MAX 512

static volatile struct MvNotification notifications[NOTIFICATION_SLOTS] __attribute__((aligned(8)));
static volatile uint32_t notification_index = 0;

static uint8_t rx_buffer[RX_BUFFER_SIZE] __attribute__((aligned(512)));
static uint8_t tx_buffer[TX_BUFFER_SIZE] __attribute__((aligned(512)));
/* Server logging keeps lines here until the cloud has stored them: 512-byte
 * aligned, a multiple of 512 bytes. */
static uint8_t log_buffer[LOG_BUFFER_SIZE] __attribute__((aligned(512)));

static volatile bool network_changed = false;
static volatile bool response_ready = false;
static volatile bool channel_lost = false;

/* The ISR: read the next record, note what happened, clear it, move on.
 * No system calls here, as on a device. */
void TIM8_BRK_IRQHandler(void) {
    volatile struct MvNotification *n = &notifications[notification_index];
    switch (n->event_type) {
    case MV_EVENTTYPE_NETWORKSTATUSCHANGED:
        network_changed = true;
        break;
    case MV_EVENTTYPE_CHANNELDATAREADABLE:
        if (n->tag == TAG_CONFIG) response_ready = true;
        break;
    case MV_EVENTTYPE_CHANNELNOTCONNECTED:
        if (n->tag == TAG_CONFIG) channel_lost = true;
        break;
    default:
        break;
    }
    n->event_type = MV_EVENTTYPE_NOEVENT;
    notification_index = (notification_index + 1) % NOTIFICATION_SLOTS;
}

static void fail(const char *what, enum MvStatus status) {
    printf("%s failed: status %u\n", what, (unsigned)status);
    exit(1);
}

/* server_log formats a line and hands it to the cloud's log (at most 512
 * bytes a line). It also prints it, so the program reads well on its own. */
static void server_log(const char *format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = sizeof(line) - 1;
    printf("log: %s\n", line);
    enum MvStatus status = mvServerLog((const uint8_t *)line, (uint16_t)n);
    if (status != MV_STATUS_OKAY) printf("mvServerLog: status %u\n", (unsigned)status);
}

static void wait_until(volatile bool *flag, uint32_t timeout_ms) {
    uint32_t start = HAL_GetTick();
    while (!*flag) {
        if (HAL_GetTick() - start > timeout_ms) {
            printf("timed out waiting for a notification\n");
            exit(1);
        }
        HAL_Delay(1);
    }
    *flag = false;
}

int main(int argc, char **argv) {
    const char *config_key = argc > 1 ? argv[1] : "broker-host";
    const char *secret_key = argc > 2 ? argv[2] : "api-key";
    enum MvStatus status;
    HAL_Init();

    /* 1. Server logging: lines logged before the network is up wait in
     * log_buffer and go out once a link is. */
    if ((status = mvServerLoggingInit(log_buffer, sizeof(log_buffer))) != MV_STATUS_OKAY) fail("mvServerLoggingInit", status);
    server_log("config-log: starting");

    /* 2. Notification centre on TIM8_BRK. */
    memset((void *)notifications, 0xff, sizeof(notifications));
    static struct MvNotificationSetup setup = {
        .irq = TIM8_BRK_IRQn,
        .buffer = (struct MvNotification *)notifications,
        .buffer_size = sizeof(notifications),
    };
    MvNotificationHandle notification_handle = 0;
    if ((status = mvSetupNotifications(&setup, &notification_handle)) != MV_STATUS_OKAY) fail("mvSetupNotifications", status);
    NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
    NVIC_EnableIRQ(TIM8_BRK_IRQn);

    /* 3. Network. */
    struct MvRequestNetworkParams net_params = {
        .version = 1,
        .v1 = {.notification_handle = notification_handle, .notification_tag = TAG_NETWORK},
    };
    MvNetworkHandle network_handle = 0;
    if ((status = mvRequestNetwork(&net_params, &network_handle)) != MV_STATUS_OKAY) fail("mvRequestNetwork", status);
    for (;;) {
        enum MvNetworkStatus net_status;
        if ((status = mvGetNetworkStatus(network_handle, &net_status)) != MV_STATUS_OKAY) fail("mvGetNetworkStatus", status);
        if (net_status == MV_NETWORKSTATUS_CONNECTED) break;
        wait_until(&network_changed, 15000);
    }
    printf("network connected\n");

    /* 4. A config fetch channel: no endpoint, the cloud's store answers. */
    struct MvOpenChannelParams channel_params = {
        .version = 1,
        .v1 = {
            .notification_handle = notification_handle,
            .notification_tag = TAG_CONFIG,
            .network_handle = network_handle,
            .receive_buffer = rx_buffer,
            .receive_buffer_len = sizeof(rx_buffer),
            .send_buffer = tx_buffer,
            .send_buffer_len = sizeof(tx_buffer),
            .channel_type = MV_CHANNELTYPE_CONFIGFETCH,
            .endpoint = {.data = (uint8_t *)"", .length = 0},
        },
    };
    MvChannelHandle channel = 0;
    if ((status = mvOpenChannel(&channel_params, &channel)) != MV_STATUS_OKAY) fail("mvOpenChannel", status);

    /* 5. One request, two keys: the account's config value and this
     * device's secret. Items come back in request order. */
    struct MvConfigKeyToFetch keys[] = {
        {
            .scope = MV_CONFIGKEYFETCHSCOPE_ACCOUNT,
            .store = MV_CONFIGKEYFETCHSTORE_CONFIG,
            .key = {.data = (const uint8_t *)config_key, .length = (uint32_t)strlen(config_key)},
        },
        {
            .scope = MV_CONFIGKEYFETCHSCOPE_DEVICE,
            .store = MV_CONFIGKEYFETCHSTORE_SECRET,
            .key = {.data = (const uint8_t *)secret_key, .length = (uint32_t)strlen(secret_key)},
        },
    };
    struct MvConfigKeyFetchParams request = {.num_items = 2, .keys_to_fetch = keys};
    if ((status = mvSendConfigFetchRequest(channel, &request)) != MV_STATUS_OKAY) fail("mvSendConfigFetchRequest", status);
    printf("fetch sent: config %s, secret %s\n", config_key, secret_key);

    /* 6. Wait for the ISR's flag, then read the response and each item. */
    uint32_t start = HAL_GetTick();
    while (!response_ready) {
        if (channel_lost) {
            printf("channel lost its connection\n");
            return 1;
        }
        if (HAL_GetTick() - start > 15000) {
            printf("no response\n");
            return 1;
        }
        HAL_Delay(1);
    }
    struct MvConfigResponseData data;
    if ((status = mvReadConfigFetchResponseData(channel, &data)) != MV_STATUS_OKAY) fail("mvReadConfigFetchResponseData", status);
    if (data.result != MV_CONFIGFETCHRESULT_OK || data.num_items != 2) {
        server_log("config-log: fetch failed: result %u, %u items", (unsigned)data.result, (unsigned)data.num_items);
        return 1;
    }
    int exit_code = 0;
    for (uint32_t i = 0; i < 2; i++) {
        enum MvConfigKeyFetchResult result = MV_CONFIGKEYFETCHRESULT_SERVERERROR;
        static char value[VALUE_MAX + 1];
        uint32_t length = 0;
        struct MvConfigResponseReadItemParams item = {
            .item_index = i,
            .result = &result,
            .buf = {.data = (uint8_t *)value, .size = VALUE_MAX, .length = &length},
        };
        if ((status = mvReadConfigResponseItem(channel, &item)) != MV_STATUS_OKAY) fail("mvReadConfigResponseItem", status);
        value[length] = '\0';
        const char *name = (const char *)keys[i].key.data;
        if (result != MV_CONFIGKEYFETCHRESULT_OK) {
            server_log("config-log: %s not found (result %u)", name, (unsigned)result);
            exit_code = 1;
        } else if (keys[i].store == MV_CONFIGKEYFETCHSTORE_SECRET) {
            server_log("config-log: secret %s fetched (%u bytes)", name, (unsigned)length);
        } else {
            server_log("config-log: %s = %s", name, value);
        }
    }

    /* 7. Close the channel and exit with the network still held: log
     * lines travel over the application's link once it has requested a
     * network, so releasing it now could strand the last lines in
     * log_buffer. At exit the library waits (up to 3 s) for the cloud to
     * store them. */
    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY || channel != 0) fail("mvCloseChannel", status);
    server_log("config-log: done");
    return exit_code;
}
