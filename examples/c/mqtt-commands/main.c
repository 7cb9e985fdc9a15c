/*
 * mqtt-commands: a device that takes commands over MQTT and keeps its
 * broker session alive, written as a device application is and runnable on
 * a PC against mvnet's C SDK.
 *
 *   notification centre → network → MQTT channel → connect → subscribe to
 *   the command topic → print each command, acknowledge it → "quit" ends
 *
 * Brokers go away: the broker restarts, drops idle clients, the link to the
 * cloud fails. When the broker session ends (a DISCONNECTRESPONSE item the
 * application did not ask for, or MV_EVENTTYPE_CHANNELNOTCONNECTED), the
 * application closes the channel, waits for the network, opens a new
 * channel, connects again and — what is easy to forget with clean_start —
 * subscribes again. It retries a refused or failed connect the same way,
 * waiting a little longer after each failure.
 *
 * Arguments: broker host, port, command topic (defaults 127.0.0.1, 1883,
 * mvnet/examples/commands). examples/c/mqtt-commands/broker-disconnect.yaml
 * cuts the broker session after the first subscribe and sends "quit" once
 * the application has subscribed again (docs/testing.md):
 *
 *   mvnet broker &
 *   mvnet run --allow 127.0.0.0/8 --mqtt-plaintext --scenario broker-disconnect.yaml \
 *       -- ./mqtt-commands 127.0.0.1 1883
 *
 * The process exits 0 on "quit", 1 when it gives up.
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
#define TAG_MQTT 2

/* Channel buffers: 512-byte aligned, multiples of 512 bytes. */
#define RX_BUFFER_SIZE 2048
#define TX_BUFFER_SIZE 1024

#define ID_SUBSCRIBE 1
#define MAX_SESSIONS 5        /* broker sessions before giving up */
#define RETRY_DELAY_MS 250    /* doubled after each failure */
#define RESPONSE_TIMEOUT_MS 20000
#define COMMAND_TIMEOUT_MS 60000

static volatile struct MvNotification notifications[NOTIFICATION_SLOTS] __attribute__((aligned(8)));
static volatile uint32_t notification_index = 0;

static uint8_t rx_buffer[RX_BUFFER_SIZE] __attribute__((aligned(512)));
static uint8_t tx_buffer[TX_BUFFER_SIZE] __attribute__((aligned(512)));

static volatile bool network_changed = false;
static volatile bool data_readable = false;
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
        if (n->tag == TAG_MQTT) data_readable = true;
        break;
    case MV_EVENTTYPE_CHANNELNOTCONNECTED:
        if (n->tag == TAG_MQTT) channel_lost = true;
        break;
    default:
        break;
    }
    n->event_type = MV_EVENTTYPE_NOEVENT;
    notification_index = (notification_index + 1) % NOTIFICATION_SLOTS;
}

static MvChannelHandle channel = 0;

/* What the current broker session has seen. */
static struct {
    bool connect_answered, connected;
    bool subscribe_answered, subscribed;
    bool lost; /* the session ended without our asking */
    bool quit; /* the "quit" command came */
    bool closing;      /* we asked to disconnect */
    bool disconnected; /* ... and the broker session has ended */
} session;

static void fail(const char *what, enum MvStatus status) {
    printf("%s failed: status %u\n", what, (unsigned)status);
    exit(1);
}

/* Reads one item of the type mvMqttGetNextReadableDataType named. */
static void read_item(enum MvMqttReadableDataType type) {
    enum MvStatus status;
    switch (type) {
    case MV_MQTTREADABLEDATATYPE_CONNECTRESPONSE: {
        struct MvMqttConnectResponse r;
        if ((status = mvMqttReadConnectResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadConnectResponse", status);
        printf("connect: request state %u, reason code %u\n", (unsigned)r.request_state, (unsigned)r.reason_code);
        session.connect_answered = true;
        session.connected = r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.reason_code == 0;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_SUBSCRIBERESPONSE: {
        enum MvMqttRequestState request_state;
        uint32_t id, codes[1], count;
        struct MvMqttSubscribeResponse r = {
            .request_state = &request_state,
            .correlation_id = &id,
            .reason_codes = codes,
            .reason_codes_size = 1,
            .reason_codes_len = &count,
        };
        if ((status = mvMqttReadSubscribeResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadSubscribeResponse", status);
        session.subscribe_answered = true;
        /* Granted QoS 0 or 1; 0x80 and above is a refusal. */
        session.subscribed = request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && count == 1 && codes[0] < 0x80;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_MESSAGERECEIVED: {
        uint8_t topic[128], payload[256];
        uint32_t id, qos, topic_len, payload_len;
        uint8_t retain;
        struct MvMqttMessage m = {
            .correlation_id = &id,
            .topic = {.data = topic, .size = sizeof(topic), .length = &topic_len},
            .payload = {.data = payload, .size = sizeof(payload), .length = &payload_len},
            .qos = &qos,
            .retain = &retain,
        };
        if ((status = mvMqttReceiveMessage(channel, &m)) != MV_STATUS_OKAY) fail("mvMqttReceiveMessage", status);
        printf("command: %.*s\n", (int)payload_len, (char *)payload);
        if (qos == 1 && (status = mvMqttAcknowledgeMessage(channel, id)) != MV_STATUS_OKAY) fail("mvMqttAcknowledgeMessage", status);
        if (payload_len == 4 && memcmp(payload, "quit", 4) == 0) session.quit = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_MESSAGELOST: {
        enum MvMqttLostMessageReason reason;
        uint8_t topic[128];
        uint32_t topic_len, length;
        struct MvMqttLostMessageInfo info = {
            .reason = &reason,
            .topic = {.data = topic, .size = sizeof(topic), .length = &topic_len},
            .message_len = &length,
        };
        if ((status = mvMqttReceiveLostMessageInfo(channel, &info)) != MV_STATUS_OKAY) fail("mvMqttReceiveLostMessageInfo", status);
        printf("lost a %u-byte command (reason %u)\n", (unsigned)length, (unsigned)reason);
        break;
    }
    case MV_MQTTREADABLEDATATYPE_DISCONNECTRESPONSE: {
        /* The answer to our disconnect after "quit", or else the broker
         * session ending without our asking. */
        struct MvMqttDisconnectResponse r;
        if ((status = mvMqttReadDisconnectResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadDisconnectResponse", status);
        if (session.closing) {
            session.disconnected = true;
            break;
        }
        printf("broker session ended: request state %u, code %u\n", (unsigned)r.request_state, (unsigned)r.disconnect_code);
        session.lost = true;
        break;
    }
    default:
        /* Responses to requests this application does not make. */
        break;
    }
}

/* Reads what the channel has, until done() holds, the session is lost or
 * timeout_ms passes. Returns done(). */
static bool wait_for(bool (*done)(void), uint32_t timeout_ms) {
    uint32_t start = HAL_GetTick();
    while (!done()) {
        if (data_readable) {
            data_readable = false;
            for (;;) {
                enum MvMqttReadableDataType type;
                enum MvStatus status = mvMqttGetNextReadableDataType(channel, &type);
                if (status == MV_STATUS_CHANNELCLOSED) break;
                if (status != MV_STATUS_OKAY) fail("mvMqttGetNextReadableDataType", status);
                if (type == MV_MQTTREADABLEDATATYPE_NONE) break;
                read_item(type);
            }
            continue;
        }
        if (session.lost) return false;
        if (channel_lost) {
            enum MvClosureReason reason = MV_CLOSUREREASON_NONE;
            mvGetChannelClosureReason(channel, &reason);
            printf("channel lost its connection: reason %u\n", (unsigned)reason);
            session.lost = true;
            return false;
        }
        if (HAL_GetTick() - start > timeout_ms) return false;
        HAL_Delay(1);
    }
    return true;
}

static bool connect_answered(void) { return session.connect_answered; }
static bool subscribe_answered(void) { return session.subscribe_answered; }
static bool quit(void) { return session.quit; }
static bool disconnected(void) { return session.disconnected; }

static void wait_for_network(MvNetworkHandle network_handle) {
    uint32_t start = HAL_GetTick();
    for (;;) {
        enum MvNetworkStatus net_status;
        enum MvStatus status;
        if ((status = mvGetNetworkStatus(network_handle, &net_status)) != MV_STATUS_OKAY) fail("mvGetNetworkStatus", status);
        if (net_status == MV_NETWORKSTATUS_CONNECTED) return;
        while (!network_changed) {
            if (HAL_GetTick() - start > 60000) {
                printf("timed out waiting for the network\n");
                exit(1);
            }
            HAL_Delay(1);
        }
        network_changed = false;
    }
}

/* The outcome of one broker session. */
enum outcome { QUIT, RETRY };

/* One broker session: channel, connect, subscribe, commands until "quit"
 * or the session ends. */
static enum outcome run_session(int n, MvNotificationHandle notification_handle, MvNetworkHandle network_handle,
                                const char *host, uint16_t port, const char *topic, const char *client_id) {
    enum MvStatus status;
    memset(&session, 0, sizeof(session));
    data_readable = false;
    channel_lost = false;

    struct MvOpenChannelParams channel_params = {
        .version = 1,
        .v1 = {
            .notification_handle = notification_handle,
            .notification_tag = TAG_MQTT,
            .network_handle = network_handle,
            .receive_buffer = rx_buffer,
            .receive_buffer_len = sizeof(rx_buffer),
            .send_buffer = tx_buffer,
            .send_buffer_len = sizeof(tx_buffer),
            .channel_type = MV_CHANNELTYPE_MQTT,
            .endpoint = {.data = (uint8_t *)"", .length = 0},
        },
    };
    status = mvOpenChannel(&channel_params, &channel);
    if (status == MV_STATUS_NETWORKNOTCONNECTED) return RETRY;
    if (status != MV_STATUS_OKAY) fail("mvOpenChannel", status);

    /* Connect: MQTT 5, clean start: the broker keeps nothing of an earlier
     * session, so every session must subscribe again. */
    struct MvMqttConnectRequest connect = {
        .protocol_version = MV_MQTTPROTOCOLVERSION_V5,
        .host = {.data = (const uint8_t *)host, .length = (uint32_t)strlen(host)},
        .port = port,
        .clientid = {.data = (const uint8_t *)client_id, .length = (uint32_t)strlen(client_id)},
        .authentication = {.method = MV_MQTTAUTHENTICATIONMETHOD_NONE},
        .tls_credentials = NULL,
        .keepalive = 60,
        .clean_start = 1,
        .will = NULL,
    };
    status = mvMqttRequestConnect(channel, &connect);
    if (status == MV_STATUS_OKAY && wait_for(connect_answered, RESPONSE_TIMEOUT_MS) && session.connected) {
        printf("connected to %s:%u (session %d)\n", host, (unsigned)port, n);
        struct MvMqttSubscription subscription = {
            .topic = {.data = (const uint8_t *)topic, .length = (uint32_t)strlen(topic)},
            .desired_qos = 1,
        };
        struct MvMqttSubscribeRequest subscribe = {
            .correlation_id = ID_SUBSCRIBE,
            .subscriptions = &subscription,
            .num_subscriptions = 1,
        };
        status = mvMqttRequestSubscribe(channel, &subscribe);
        if (status == MV_STATUS_OKAY && wait_for(subscribe_answered, RESPONSE_TIMEOUT_MS) && session.subscribed) {
            printf("subscribed to %s (session %d)\n", topic, n);
            if (wait_for(quit, COMMAND_TIMEOUT_MS)) {
                /* Wait for the disconnect to be answered before closing the
                 * channel: closing at once may drop the DISCONNECT, and the
                 * broker then sees the connection cut instead of a clean end
                 * (and would publish a will, had we set one). */
                session.closing = true;
                if (mvMqttRequestDisconnect(channel) == MV_STATUS_OKAY) wait_for(disconnected, RESPONSE_TIMEOUT_MS);
                mvCloseChannel(&channel);
                return QUIT;
            }
            if (!session.lost) {
                printf("no quit command within %u s\n", COMMAND_TIMEOUT_MS / 1000);
                exit(1);
            }
        } else if (!session.lost) {
            printf("subscribe failed (status %u)\n", (unsigned)status);
        }
    } else if (!session.lost) {
        printf("connect failed (status %u)\n", (unsigned)status);
    }
    mvCloseChannel(&channel);
    return RETRY;
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    uint16_t port = (uint16_t)(argc > 2 ? atoi(argv[2]) : 1883);
    const char *topic = argc > 3 ? argv[3] : "mvnet/examples/commands";
    enum MvStatus status;
    HAL_Init();

    /* The device ID is the client ID. */
    char device_id[35] = {0};
    if ((status = mvGetDeviceId((uint8_t *)device_id, 34)) != MV_STATUS_OKAY) fail("mvGetDeviceId", status);

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

    struct MvRequestNetworkParams net_params = {
        .version = 1,
        .v1 = {.notification_handle = notification_handle, .notification_tag = TAG_NETWORK},
    };
    MvNetworkHandle network_handle = 0;
    if ((status = mvRequestNetwork(&net_params, &network_handle)) != MV_STATUS_OKAY) fail("mvRequestNetwork", status);
    wait_for_network(network_handle);
    printf("network connected\n");

    uint32_t delay = RETRY_DELAY_MS;
    for (int n = 1;; n++) {
        if (run_session(n, notification_handle, network_handle, host, port, topic, device_id) == QUIT) break;
        if (n == MAX_SESSIONS) {
            printf("giving up after %d broker sessions\n", n);
            return 1;
        }
        printf("reconnecting in %u ms\n", (unsigned)delay);
        HAL_Delay(delay);
        delay *= 2;
        wait_for_network(network_handle);
    }

    if ((status = mvReleaseNetwork(&network_handle)) != MV_STATUS_OKAY || network_handle != 0) fail("mvReleaseNetwork", status);
    NVIC_DisableIRQ(TIM8_BRK_IRQn);
    if ((status = mvCloseNotifications(&notification_handle)) != MV_STATUS_OKAY) fail("mvCloseNotifications", status);
    printf("done: quit\n");
    return 0;
}
