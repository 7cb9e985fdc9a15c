/* The network task: brings the network up, opens an HTTP channel and posts
 * the temperature reading to API_URL, then reports the outcome. */
#include "main.h"

#define TAG_NETWORK 1
#define TAG_CHANNEL 2
#define SLOTS 16

static volatile struct MvNotification notifications[SLOTS] __attribute__((aligned(8)));
static volatile uint32_t next_slot;
static volatile bool received;
static uint8_t rx_buffer[4096] __attribute__((aligned(512)));
static uint8_t tx_buffer[2048] __attribute__((aligned(512)));

/* Microvisor raises the notification centre's IRQ for each record. */
void TIM8_BRK_IRQHandler(void) {
    volatile struct MvNotification *n = &notifications[next_slot];
    if (n->tag == TAG_CHANNEL && n->event_type == MV_EVENTTYPE_CHANNELDATAREADABLE) {
        received = true;
    }
    n->event_type = MV_EVENTTYPE_NOEVENT;
    next_slot = (next_slot + 1) % SLOTS;
}

static int post_reading(float celsius) {
    struct MvNotificationSetup setup = {
        .irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)notifications, .buffer_size = sizeof notifications};
    MvNotificationHandle centre = 0;
    if (mvSetupNotifications(&setup, &centre) != MV_STATUS_OKAY) {
        return -1;
    }
    NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
    NVIC_EnableIRQ(TIM8_BRK_IRQn);

    struct MvRequestNetworkParams params = {
        .version = 1, .v1 = {.notification_handle = centre, .notification_tag = TAG_NETWORK}};
    MvNetworkHandle network = 0;
    if (mvRequestNetwork(&params, &network) != MV_STATUS_OKAY) {
        return -1;
    }
    enum MvNetworkStatus status = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
    while (status != MV_NETWORKSTATUS_CONNECTED) {
        mvGetNetworkStatus(network, &status);
        osDelay(pdMS_TO_TICKS(100));
    }
    server_log("network connected");

    struct MvOpenChannelParams channel_params = {
        .version = 1,
        .v1 = {.notification_handle = centre,
               .notification_tag = TAG_CHANNEL,
               .network_handle = network,
               .receive_buffer = rx_buffer,
               .receive_buffer_len = sizeof rx_buffer,
               .send_buffer = tx_buffer,
               .send_buffer_len = sizeof tx_buffer,
               .channel_type = MV_CHANNELTYPE_HTTP,
               .endpoint = {.data = (uint8_t *)"", .length = 0}}};
    MvChannelHandle channel = 0;
    if (mvOpenChannel(&channel_params, &channel) != MV_STATUS_OKAY) {
        return -1;
    }

    char body[64];
    int body_len = snprintf(body, sizeof body, "{\"temperature_c\":%.2f}", (double)celsius);
    static const char content_type[] = "Content-Type: application/json";
    struct MvHttpHeader headers[] = {{.data = (const uint8_t *)content_type, .length = sizeof content_type - 1}};
    const char *url = API_URL;
    struct MvHttpRequest request = {
        .method = {.data = (const uint8_t *)"POST", .length = 4},
        .url = {.data = (const uint8_t *)url, .length = (uint32_t)strlen(url)},
        .num_headers = 1,
        .headers = headers,
        .body = {.data = (const uint8_t *)body, .length = (uint32_t)body_len},
        .timeout_ms = 10000,
    };
    received = false;
    if (mvSendHttpRequest(channel, &request) != MV_STATUS_OKAY) {
        mvCloseChannel(&channel);
        return -1;
    }
    for (int i = 0; i < 300 && !received; i++) {
        osDelay(pdMS_TO_TICKS(100));
    }
    int code = -1;
    struct MvHttpResponseData response;
    if (received && mvReadHttpResponseData(channel, &response) == MV_STATUS_OKAY &&
        response.result == MV_HTTPRESULT_OK) {
        code = (int)response.status_code;
    }
    mvCloseChannel(&channel);
    return code;
}

void network_task(void *argument) {
    (void)argument;
    int code = post_reading(last_celsius);
    server_log("posted %.2f C to %s: HTTP %d", (double)last_celsius, API_URL, code);
    for (;;) {
        osDelay(pdMS_TO_TICKS(60000));
    }
}
