/*
 * config_log: fetch a config value (account scope, FW_CONFIG_KEY, default
 * "broker-host") and a device secret (FW_SECRET_KEY, default "api-key") in
 * one CONFIGFETCH request, log them with mvServerLog — the secret masked:
 * its length only — and finish with
 * mvTestingComplete: 0 when both were found.
 */
#include <stdio.h>
#include <string.h>

#include "fw.h"

#ifndef FW_CONFIG_KEY
#define FW_CONFIG_KEY "broker-host"
#endif
#ifndef FW_SECRET_KEY
#define FW_SECRET_KEY "api-key"
#endif

#define TAG_NETWORK 1
#define TAG_CONFIG 2

int main(void) {
    enum MvStatus status;
    fw_log_init();
    fw_log("config_log: starting");
    MvNotificationHandle notifications = fw_notify_init();
    MvNetworkHandle network = fw_network(notifications, TAG_NETWORK);
    MvChannelHandle channel = fw_open_channel(notifications, network, TAG_CONFIG, MV_CHANNELTYPE_CONFIGFETCH, "");

    static const char config_key[] = FW_CONFIG_KEY, secret_key[] = FW_SECRET_KEY;
    struct MvConfigKeyToFetch keys[] = {
        {.scope = MV_CONFIGKEYFETCHSCOPE_ACCOUNT, .store = MV_CONFIGKEYFETCHSTORE_CONFIG,
         .key = {.data = (const uint8_t *)config_key, .length = sizeof(config_key) - 1}},
        {.scope = MV_CONFIGKEYFETCHSCOPE_DEVICE, .store = MV_CONFIGKEYFETCHSTORE_SECRET,
         .key = {.data = (const uint8_t *)secret_key, .length = sizeof(secret_key) - 1}},
    };
    struct MvConfigKeyFetchParams request = {.num_items = 2, .keys_to_fetch = keys};
    if ((status = mvSendConfigFetchRequest(channel, &request)) != MV_STATUS_OKAY) fw_fail("mvSendConfigFetchRequest", status);

    enum MvEventType event = fw_wait(TAG_CONFIG);
    if (event != MV_EVENTTYPE_CHANNELDATAREADABLE) {
        fw_log("config_log: channel event %u instead of a response", (unsigned)event);
        fw_exit(1);
    }
    struct MvConfigResponseData data;
    if ((status = mvReadConfigFetchResponseData(channel, &data)) != MV_STATUS_OKAY) fw_fail("mvReadConfigFetchResponseData", status);
    if (data.result != MV_CONFIGFETCHRESULT_OK || data.num_items != 2) {
        fw_log("config_log: fetch failed: result %u, %u items", (unsigned)data.result, (unsigned)data.num_items);
        fw_exit(1);
    }
    int code = 0;
    for (uint32_t i = 0; i < 2; i++) {
        static char value[257];
        enum MvConfigKeyFetchResult result = MV_CONFIGKEYFETCHRESULT_SERVERERROR;
        uint32_t length = 0;
        struct MvConfigResponseReadItemParams item = {
            .item_index = i,
            .result = &result,
            .buf = {.data = (uint8_t *)value, .size = sizeof(value) - 1, .length = &length},
        };
        if ((status = mvReadConfigResponseItem(channel, &item)) != MV_STATUS_OKAY) fw_fail("mvReadConfigResponseItem", status);
        value[length] = '\0';
        const char *name = (const char *)keys[i].key.data;
        if (result != MV_CONFIGKEYFETCHRESULT_OK) {
            fw_log("config_log: %s not found (result %u)", name, (unsigned)result);
            code = 1;
        } else if (keys[i].store == MV_CONFIGKEYFETCHSTORE_SECRET) {
            fw_log("config_log: secret %s = [masked, %u bytes]", name, (unsigned)length);
        } else {
            fw_log("config_log: config %s = %s", name, value);
        }
    }
    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY) fw_fail("mvCloseChannel", status);
    fw_log("config_log: done");
    return code;
}
