/*
 * http-get: the whole Microvisor HTTP flow in C, written as a device
 * application is, and runnable on a PC against mvnet's C SDK.
 *
 *   notification centre → network → HTTP channel → GET → interrupt sets a
 *   flag → read status, headers and body → close channel → release network
 *
 * It copes with the network as a device application must: when the channel
 * loses its connection (MV_EVENTTYPE_CHANNELNOTCONNECTED: the link went
 * away mid-request) or the request fails, it closes the channel, waits for
 * the network to come back, opens a new channel and sends the request again
 * — up to MAX_ATTEMPTS times, waiting a little longer after each failure.
 * examples/c/http-get/link-drop.yaml is a scenario that drops the link
 * while the first request is in flight (docs/testing.md):
 *
 *   mvnet run --scenario link-drop.yaml -- ./http-get https://api.test/hello
 *
 * The URL comes from the first argument (default https://example.com/).
 * The process exits 0 when the response is 200, 1 otherwise.
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
#define TAG_HTTP 2

#define RX_BUFFER_SIZE 4096
#define TX_BUFFER_SIZE 1024

#define MAX_ATTEMPTS 5
#define RETRY_DELAY_MS 250 /* doubled after each failed attempt */

static volatile struct MvNotification notifications[NOTIFICATION_SLOTS] __attribute__((aligned(8)));
static volatile uint32_t notification_index = 0;

static uint8_t rx_buffer[RX_BUFFER_SIZE] __attribute__((aligned(512)));
static uint8_t tx_buffer[TX_BUFFER_SIZE] __attribute__((aligned(512)));

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
        if (n->tag == TAG_HTTP) response_ready = true;
        break;
    case MV_EVENTTYPE_CHANNELNOTCONNECTED:
        if (n->tag == TAG_HTTP) channel_lost = true;
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

/* Waits until the network is connected (it may be reconnecting after the
 * link went away). */
static void wait_for_network(MvNetworkHandle network_handle) {
    for (;;) {
        enum MvNetworkStatus net_status;
        enum MvStatus status;
        if ((status = mvGetNetworkStatus(network_handle, &net_status)) != MV_STATUS_OKAY) fail("mvGetNetworkStatus", status);
        if (net_status == MV_NETWORKSTATUS_CONNECTED) return;
        wait_until(&network_changed, 30000);
    }
}

/* The outcome of one attempt. */
enum attempt { ATTEMPT_DONE, ATTEMPT_RETRY };

/* One attempt: open a channel, send the GET, wait for the response or the
 * channel's loss, print what came back, close the channel. *exit_code is set
 * when the attempt got a response. */
static enum attempt get_once(MvNotificationHandle notification_handle, MvNetworkHandle network_handle,
                             const char *url, int *exit_code) {
    enum MvStatus status;
    response_ready = false;
    channel_lost = false;

    /* HTTP channel. */
    struct MvOpenChannelParams channel_params = {
        .version = 1,
        .v1 = {
            .notification_handle = notification_handle,
            .notification_tag = TAG_HTTP,
            .network_handle = network_handle,
            .receive_buffer = rx_buffer,
            .receive_buffer_len = sizeof(rx_buffer),
            .send_buffer = tx_buffer,
            .send_buffer_len = sizeof(tx_buffer),
            .channel_type = MV_CHANNELTYPE_HTTP,
            .endpoint = {.data = (uint8_t *)"", .length = 0},
        },
    };
    MvChannelHandle channel = 0;
    status = mvOpenChannel(&channel_params, &channel);
    if (status == MV_STATUS_NETWORKNOTCONNECTED) {
        printf("network not connected; retrying\n");
        return ATTEMPT_RETRY;
    }
    if (status != MV_STATUS_OKAY) fail("mvOpenChannel", status);

    /* GET. */
    const char method[] = "GET";
    const char accept[] = "Accept: */*";
    struct MvHttpHeader headers[] = {{.length = sizeof(accept) - 1, .data = (uint8_t *)accept}};
    struct MvHttpRequest request = {
        .method = {.data = (uint8_t *)method, .length = sizeof(method) - 1},
        .url = {.data = (uint8_t *)url, .length = (uint32_t)strlen(url)},
        .num_headers = 1,
        .headers = headers,
        .body = {.data = NULL, .length = 0},
        .timeout_ms = 10000,
    };
    status = mvSendHttpRequest(channel, &request);
    if (status == MV_STATUS_CHANNELCLOSED) {
        printf("channel closed before the request went out; retrying\n");
        mvCloseChannel(&channel);
        return ATTEMPT_RETRY;
    }
    if (status != MV_STATUS_OKAY) fail("mvSendHttpRequest", status);
    printf("request sent: GET %s\n", url);

    /* Wait for the ISR's flag, then read. */
    uint32_t start = HAL_GetTick();
    while (!response_ready) {
        if (channel_lost) {
            enum MvClosureReason reason = MV_CLOSUREREASON_NONE;
            mvGetChannelClosureReason(channel, &reason);
            printf("channel lost its connection: reason %u; retrying\n", (unsigned)reason);
            mvCloseChannel(&channel);
            return ATTEMPT_RETRY;
        }
        if (HAL_GetTick() - start > 15000) {
            printf("no response; retrying\n");
            mvCloseChannel(&channel);
            return ATTEMPT_RETRY;
        }
        HAL_Delay(1);
    }
    struct MvHttpResponseData data;
    if ((status = mvReadHttpResponseData(channel, &data)) != MV_STATUS_OKAY) fail("mvReadHttpResponseData", status);
    printf("result %u, HTTP %u, %u headers, %u body bytes\n", (unsigned)data.result, (unsigned)data.status_code,
           (unsigned)data.num_headers, (unsigned)data.body_length);
    if (data.result != MV_HTTPRESULT_OK) {
        /* The cloud could not complete the request (REQUESTFAILED, a
         * timeout): worth another try. */
        printf("request failed; retrying\n");
        mvCloseChannel(&channel);
        return ATTEMPT_RETRY;
    }
    *exit_code = data.status_code == 200 ? 0 : 1;
    for (uint32_t i = 0; i < data.num_headers; i++) {
        uint8_t header[257];
        memset(header, 0, sizeof(header));
        if ((status = mvReadHttpResponseHeader(channel, i, header, sizeof(header) - 1)) != MV_STATUS_OKAY) fail("mvReadHttpResponseHeader", status);
        printf("  %s\n", (char *)header);
    }
    uint8_t *body = calloc(1, data.body_length + 1);
    if ((status = mvReadHttpResponseBody(channel, 0, body, data.body_length)) != MV_STATUS_OKAY) fail("mvReadHttpResponseBody", status);
    printf("\n%s\n", (char *)body);
    free(body);

    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY || channel != 0) fail("mvCloseChannel", status);
    return ATTEMPT_DONE;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "https://example.com/";
    enum MvStatus status;
    HAL_Init();

    /* 1. Notification centre on TIM8_BRK. */
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

    /* 2. Network. */
    struct MvRequestNetworkParams net_params = {
        .version = 1,
        .v1 = {.notification_handle = notification_handle, .notification_tag = TAG_NETWORK},
    };
    MvNetworkHandle network_handle = 0;
    if ((status = mvRequestNetwork(&net_params, &network_handle)) != MV_STATUS_OKAY) fail("mvRequestNetwork", status);
    wait_for_network(network_handle);
    printf("network connected\n");

    /* 3. The request, again after a failure, with a growing pause. */
    int exit_code = 1;
    uint32_t delay = RETRY_DELAY_MS;
    for (int attempt = 1;; attempt++) {
        if (get_once(notification_handle, network_handle, url, &exit_code) == ATTEMPT_DONE) break;
        if (attempt == MAX_ATTEMPTS) {
            printf("giving up after %d attempts\n", attempt);
            return 1;
        }
        HAL_Delay(delay);
        delay *= 2;
        wait_for_network(network_handle);
        printf("attempt %d\n", attempt + 1);
    }

    /* 4. Release. */
    if ((status = mvReleaseNetwork(&network_handle)) != MV_STATUS_OKAY || network_handle != 0) fail("mvReleaseNetwork", status);
    NVIC_DisableIRQ(TIM8_BRK_IRQn);
    if ((status = mvCloseNotifications(&notification_handle)) != MV_STATUS_OKAY) fail("mvCloseNotifications", status);
    return exit_code;
}
