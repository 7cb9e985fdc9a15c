/*
 * http_get: an HTTP GET from firmware. Notification centre, network, HTTP
 * channel, GET FW_URL, sleep (WFI) until the notification IRQ says the
 * response is readable, then log the status and body length with
 * mvServerLog and finish with mvTestingComplete: 0 for HTTP 200.
 *
 * FW_URL defaults to https://fw.test/hello: a test runs the cloud with
 * --resolve fw.test:443:127.0.0.1:PORT (and --allow 127.0.0.0/8) so the
 * name reaches its loopback server.
 */
#include <stdio.h>
#include <string.h>

#include "fw.h"

#ifndef FW_URL
#define FW_URL "https://fw.test/hello"
#endif

#define TAG_NETWORK 1
#define TAG_HTTP 2

int main(void) {
    enum MvStatus status;
    fw_log_init();
    fw_log("http_get: starting");
    MvNotificationHandle notifications = fw_notify_init();
    MvNetworkHandle network = fw_network(notifications, TAG_NETWORK);
    MvChannelHandle channel = fw_open_channel(notifications, network, TAG_HTTP, MV_CHANNELTYPE_HTTP, "");

    static const char method[] = "GET";
    static const char url[] = FW_URL;
    static const char accept[] = "Accept: */*";
    struct MvHttpHeader headers[] = {{.data = (const uint8_t *)accept, .length = sizeof(accept) - 1}};
    struct MvHttpRequest request = {
        .method = {.data = (const uint8_t *)method, .length = sizeof(method) - 1},
        .url = {.data = (const uint8_t *)url, .length = sizeof(url) - 1},
        .num_headers = 1,
        .headers = headers,
        .body = {.data = NULL, .length = 0},
        .timeout_ms = 10000,
    };
    if ((status = mvSendHttpRequest(channel, &request)) != MV_STATUS_OKAY) fw_fail("mvSendHttpRequest", status);
    printf("request sent: GET %s\n", url);

    enum MvEventType event = fw_wait(TAG_HTTP);
    if (event != MV_EVENTTYPE_CHANNELDATAREADABLE) {
        fw_log("http_get: channel event %u instead of a response", (unsigned)event);
        fw_exit(1);
    }
    struct MvHttpResponseData data;
    if ((status = mvReadHttpResponseData(channel, &data)) != MV_STATUS_OKAY) fw_fail("mvReadHttpResponseData", status);
    if (data.result != MV_HTTPRESULT_OK) {
        fw_log("http_get: request failed: result %u", (unsigned)data.result);
        fw_exit(1);
    }
    static uint8_t body[2048];
    uint32_t n = data.body_length < sizeof(body) ? data.body_length : sizeof(body);
    if ((status = mvReadHttpResponseBody(channel, 0, body, n)) != MV_STATUS_OKAY) fw_fail("mvReadHttpResponseBody", status);
    fw_log("http_get: HTTP %u, %u body bytes: %.*s", (unsigned)data.status_code, (unsigned)data.body_length,
           (int)(n < 64 ? n : 64), (const char *)body);

    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY) fw_fail("mvCloseChannel", status);
    fw_log("http_get: done");
    return data.status_code == 200 ? 0 : 1;
}
