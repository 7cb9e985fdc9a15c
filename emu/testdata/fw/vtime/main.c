/*
 * vtime: what the image sees of the cloud's time in deterministic mode
 * (virtual time, docs/firmware.md "Time and determinism"). Every instant it
 * prints is mvGetMicroseconds, the virtual clock, so two runs print the
 * same numbers:
 *
 *   1. the network: when it is connected (after a link-drop at boot, the
 *      instant the link came up);
 *   2. an HTTP GET of FW_URL: the time from the request to its response
 *      (a latency fault's delay shows here);
 *   3. an HTTP GET of FW_HANG_URL, an upstream that never answers, with
 *      the shortest timeout Microvisor allows (5 s): when the failure
 *      arrives, counted from the request;
 *   4. config FW_CONFIG_KEY (device scope), fetched every FW_POLL_MS of
 *      virtual time until it exists (a scenario sets it at a given time),
 *      at most FW_POLL_LIMIT_MS: when it was seen, and its value. While
 *      the network is not connected (a scenario dropped the link) a poll
 *      fetches nothing.
 *
 * Times are printed as 32-bit µs (newlib nano has no %llu): runs under
 * 71 minutes. Each result is a server log line too (fw_log), so a scenario can expect
 * it. Exits 0 when every step ran (the GET answered, the hanging one
 * failed, the value was seen), 1 otherwise. It sleeps on SysTick (10 ms
 * ticks) with WFI, so waiting costs no host time.
 */
#include <stdio.h>
#include <string.h>

#include "fw.h"

#ifndef FW_URL
#define FW_URL "https://fw.test/hello"
#endif
#ifndef FW_HANG_URL
#define FW_HANG_URL "https://fw.test/hang"
#endif
#ifndef FW_CONFIG_KEY
#define FW_CONFIG_KEY "vtime-mode"
#endif
#ifndef FW_POLL_MS
#define FW_POLL_MS 250u /* a channel per fetch: within spec/abi.md's 8 channel opens per second */
#endif
#ifndef FW_POLL_LIMIT_MS
#define FW_POLL_LIMIT_MS 30000u
#endif

#define TAG_NETWORK 1
#define TAG_CHANNEL 2
#define TICK_MS 10u

static volatile uint32_t ticks;

void SysTick_Handler(void) { ticks++; }

static void tick_init(void) {
    SYST_RVR = 160000000u / 1000u * TICK_MS - 1u; /* 10 ms of the 160 MHz processor clock */
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

static void sleep_ms(uint32_t ms) {
    uint32_t end = ticks + (ms + TICK_MS - 1u) / TICK_MS;
    while ((int32_t)(ticks - end) < 0) fw_wfi();
}

static uint64_t now_us(void) {
    uint64_t us = 0;
    enum MvStatus status = mvGetMicroseconds(&us);
    if (status != MV_STATUS_OKAY) fw_fail("mvGetMicroseconds", status);
    return us;
}

/* get sends a GET of url with the given timeout and waits for its outcome:
 * the HTTP status (0 when the request failed), the result in *result. */
static uint32_t get(MvNotificationHandle notifications, MvNetworkHandle network, const char *url, uint32_t timeout_ms,
                    enum MvHttpResult *result) {
    enum MvStatus status;
    MvChannelHandle channel = fw_open_channel(notifications, network, TAG_CHANNEL, MV_CHANNELTYPE_HTTP, "");
    static const char method[] = "GET";
    struct MvHttpRequest request = {
        .method = {.data = (const uint8_t *)method, .length = sizeof(method) - 1},
        .url = {.data = (const uint8_t *)url, .length = (uint32_t)strlen(url)},
        .num_headers = 0,
        .headers = NULL,
        .body = {.data = NULL, .length = 0},
        .timeout_ms = timeout_ms,
    };
    if ((status = mvSendHttpRequest(channel, &request)) != MV_STATUS_OKAY) fw_fail("mvSendHttpRequest", status);
    enum MvEventType event = fw_wait(TAG_CHANNEL);
    uint32_t code = 0;
    *result = MV_HTTPRESULT_REQUESTFAILED;
    if (event == MV_EVENTTYPE_CHANNELDATAREADABLE) {
        struct MvHttpResponseData data;
        if ((status = mvReadHttpResponseData(channel, &data)) != MV_STATUS_OKAY) fw_fail("mvReadHttpResponseData", status);
        *result = data.result;
        if (data.result == MV_HTTPRESULT_OK) code = data.status_code;
    } else {
        printf("vtime: channel event %u instead of a response\n", (unsigned)event);
    }
    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY) fw_fail("mvCloseChannel", status);
    return code;
}

/* fetch asks for config key once: true with its value in value when found. */
static bool fetch(MvNotificationHandle notifications, MvNetworkHandle network, const char *key, char *value,
                  uint32_t size) {
    enum MvStatus status;
    MvChannelHandle channel = fw_open_channel(notifications, network, TAG_CHANNEL, MV_CHANNELTYPE_CONFIGFETCH, "");
    struct MvConfigKeyToFetch keys[] = {{.scope = MV_CONFIGKEYFETCHSCOPE_DEVICE, .store = MV_CONFIGKEYFETCHSTORE_CONFIG,
                                         .key = {.data = (const uint8_t *)key, .length = (uint32_t)strlen(key)}}};
    struct MvConfigKeyFetchParams request = {.num_items = 1, .keys_to_fetch = keys};
    if ((status = mvSendConfigFetchRequest(channel, &request)) != MV_STATUS_OKAY) fw_fail("mvSendConfigFetchRequest", status);
    bool found = false;
    if (fw_wait(TAG_CHANNEL) == MV_EVENTTYPE_CHANNELDATAREADABLE) {
        struct MvConfigResponseData data;
        if ((status = mvReadConfigFetchResponseData(channel, &data)) != MV_STATUS_OKAY) fw_fail("mvReadConfigFetchResponseData", status);
        if (data.result == MV_CONFIGFETCHRESULT_OK && data.num_items == 1) {
            enum MvConfigKeyFetchResult result = MV_CONFIGKEYFETCHRESULT_SERVERERROR;
            uint32_t length = 0;
            struct MvConfigResponseReadItemParams item = {
                .item_index = 0,
                .result = &result,
                .buf = {.data = (uint8_t *)value, .size = size - 1, .length = &length},
            };
            if ((status = mvReadConfigResponseItem(channel, &item)) != MV_STATUS_OKAY) fw_fail("mvReadConfigResponseItem", status);
            value[length] = '\0';
            found = result == MV_CONFIGKEYFETCHRESULT_OK;
        }
    }
    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY) fw_fail("mvCloseChannel", status);
    return found;
}

int main(void) {
    fw_log_init();
    tick_init();
    MvNotificationHandle notifications = fw_notify_init();
    MvNetworkHandle network = fw_network(notifications, TAG_NETWORK);
    fw_log("vtime: connected at %lu us", (unsigned long)now_us());
    int code = 0;

    enum MvHttpResult result;
    uint64_t asked = now_us();
    uint32_t http = get(notifications, network, FW_URL, 10000u, &result);
    fw_log("vtime: HTTP %u after %lu us", (unsigned)http, (unsigned long)(now_us() - asked));
    if (http != 200) code = 1;

    asked = now_us();
    http = get(notifications, network, FW_HANG_URL, 5000u, &result);
    fw_log("vtime: hanging request: result %u after %lu us", (unsigned)result, (unsigned long)(now_us() - asked));
    if (result != MV_HTTPRESULT_REQUESTFAILED) code = 1;

    static char value[129];
    uint64_t from = now_us();
    for (;;) {
        enum MvNetworkStatus net = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
        enum MvStatus status = mvGetNetworkStatus(network, &net);
        if (status != MV_STATUS_OKAY) fw_fail("mvGetNetworkStatus", status);
        if (net != MV_NETWORKSTATUS_CONNECTED) {
            /* The link is down (a scenario dropped it): the kernel redials;
             * try again at the next poll. */
        } else if (fetch(notifications, network, FW_CONFIG_KEY, value, sizeof(value))) {
            fw_log("vtime: config %s = %s at %lu us", FW_CONFIG_KEY, value, (unsigned long)now_us());
            break;
        }
        if (now_us() - from > (uint64_t)FW_POLL_LIMIT_MS * 1000u) {
            fw_log("vtime: config %s not set by %lu us", FW_CONFIG_KEY, (unsigned long)now_us());
            code = 1;
            break;
        }
        sleep_ms(FW_POLL_MS);
    }
    fw_log("vtime: done");
    return code;
}
