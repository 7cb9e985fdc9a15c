/*
 * fw.c: the runtime shared by mvnet's test firmware — exit, console,
 * server logging, notifications, network and channels, and the few system
 * calls newlib needs. Written for this project.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fw.h"

void fw_exit(uint32_t code) {
    mvTestingComplete(code);
#ifdef FW_HOSTED
    exit((int)code); /* libmvnet's mvTestingComplete exits; this never runs */
#endif
    for (;;) {
        fw_wfi(); /* on a device the application keeps running: idle */
    }
}

void fw_fail(const char *what, enum MvStatus status) {
    printf("%s failed: status %u\n", what, (unsigned)status);
    fw_exit(1);
}

/* ---- console: USART2 ---- */

#ifdef FW_HOSTED
void fw_console_init(void) {} /* the host's stdout */
#else

static bool console_on;

/* USART2 on PA2 (TX, alternate function 7), 115200 baud from the 160 MHz
 * kernel clock, transmitter only. */
void fw_console_init(void) {
    RCC_AHB2ENR1 |= RCC_AHB2ENR1_GPIOAEN;
    RCC_APB1ENR1 |= RCC_APB1ENR1_USART2EN;
    GPIO_MODER(GPIOA_BASE) = (GPIO_MODER(GPIOA_BASE) & ~(3u << 4)) | (2u << 4); /* PA2: alternate function */
    GPIO_AFRL(GPIOA_BASE) = (GPIO_AFRL(GPIOA_BASE) & ~(0xFu << 8)) | (7u << 8);   /* AF7: USART2_TX */
    USART_BRR(USART2_BASE) = 160000000u / 115200u;
    USART_CR1(USART2_BASE) = USART_CR1_UE | USART_CR1_TE;
    console_on = true;
}

static void console_put(char c) {
    /* A bounded wait for room: a model without TXE must not hang the run. */
    for (uint32_t spin = 0; spin < 100000u && !(USART_ISR(USART2_BASE) & USART_ISR_TXE); spin++) {
    }
    USART_TDR(USART2_BASE) = (uint8_t)c;
}

/* newlib: stdout and stderr go to the console. */
int _write(int fd, const char *buf, int len) {
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    if (!console_on) fw_console_init();
    for (int i = 0; i < len; i++) {
        if (buf[i] == '\n') console_put('\r');
        console_put(buf[i]);
    }
    return len;
}

/* ---- the rest of newlib's system interface ---- */

void *_sbrk(ptrdiff_t incr) {
    extern char end;     /* fw.ld: the first free byte after .bss */
    extern char _sstack; /* fw.ld: the lowest address the stack may reach */
    static char *brk = &end;
    if (brk + incr > &_sstack) {
        errno = ENOMEM;
        return (void *)-1;
    }
    char *old = brk;
    brk += incr;
    return old;
}
int _close(int fd) { (void)fd; errno = EBADF; return -1; }
int _read(int fd, char *buf, int len) { (void)fd; (void)buf; (void)len; return 0; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd) { return fd >= 0 && fd <= 2; }
int _getpid(void) { return 1; }
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
void _exit(int code) { fw_exit((uint32_t)code); }
#endif /* !FW_HOSTED */

/* ---- server logging ---- */

/* spec/abi.md: the log buffer is 512-byte aligned, a multiple of 512 bytes. */
static uint8_t log_buffer[4096] __attribute__((aligned(512)));

void fw_log_init(void) {
    enum MvStatus status = mvServerLoggingInit(log_buffer, sizeof(log_buffer));
    if (status != MV_STATUS_OKAY) fw_fail("mvServerLoggingInit", status);
}

void fw_log(const char *format, ...) {
    char line[256];
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

/* ---- notifications ---- */

#define SLOTS 16
static volatile struct MvNotification notifications[SLOTS] __attribute__((aligned(8)));
static volatile uint32_t next_slot;

/* Per tag, the event types received and not yet consumed by fw_wait. */
#define QUEUE 8
static volatile uint8_t queued[FW_TAGS][QUEUE];
static volatile uint32_t queue_head[FW_TAGS], queue_tail[FW_TAGS];

/* The notification ISR: take each record the system wrote, queue its type
 * under its tag, clear it. No system calls here, as on a device. */
void TIM8_BRK_IRQHandler(void) {
    for (;;) {
        volatile struct MvNotification *n = &notifications[next_slot];
        if (n->event_type == MV_EVENTTYPE_NOEVENT) break;
        uint32_t tag = n->tag;
        if (tag < FW_TAGS && queue_tail[tag] - queue_head[tag] < QUEUE) {
            queued[tag][queue_tail[tag] % QUEUE] = (uint8_t)n->event_type;
            queue_tail[tag]++;
        }
        n->event_type = MV_EVENTTYPE_NOEVENT;
        next_slot = (next_slot + 1) % SLOTS;
    }
}

MvNotificationHandle fw_notify_init(void) {
    memset((void *)notifications, 0, sizeof(notifications)); /* MV_EVENTTYPE_NOEVENT */
    static struct MvNotificationSetup setup = {
        .irq = FW_NOTIFY_IRQ,
        .buffer = (struct MvNotification *)notifications,
        .buffer_size = sizeof(notifications),
    };
    MvNotificationHandle handle = 0;
    enum MvStatus status = mvSetupNotifications(&setup, &handle);
    if (status != MV_STATUS_OKAY) fw_fail("mvSetupNotifications", status);
    fw_irq_enable(FW_NOTIFY_IRQ);
    return handle;
}

enum MvEventType fw_wait(uint32_t tag) {
    for (;;) {
        fw_disable_irq();
        if (queue_head[tag] != queue_tail[tag]) {
            enum MvEventType t = (enum MvEventType)queued[tag][queue_head[tag] % QUEUE];
            queue_head[tag]++;
            fw_enable_irq();
            return t;
        }
        fw_wfi(); /* a pending IRQ wakes it even while masked */
        fw_enable_irq();
    }
}

/* ---- network and channels ---- */

MvNetworkHandle fw_network(MvNotificationHandle notifications_handle, uint32_t tag) {
    struct MvRequestNetworkParams params = {
        .version = 1,
        .v1 = {.notification_handle = notifications_handle, .notification_tag = tag},
    };
    MvNetworkHandle network = 0;
    enum MvStatus status = mvRequestNetwork(&params, &network);
    if (status != MV_STATUS_OKAY) fw_fail("mvRequestNetwork", status);
    for (;;) {
        enum MvNetworkStatus net;
        if ((status = mvGetNetworkStatus(network, &net)) != MV_STATUS_OKAY) fw_fail("mvGetNetworkStatus", status);
        if (net == MV_NETWORKSTATUS_CONNECTED) return network;
        fw_wait(tag);
    }
}

/* spec/abi.md: channel buffers are 512-byte aligned multiples of 512 bytes. */
static uint8_t rx_buffer[4096] __attribute__((aligned(512)));
static uint8_t tx_buffer[2048] __attribute__((aligned(512)));

MvChannelHandle fw_open_channel(MvNotificationHandle notifications_handle, MvNetworkHandle network, uint32_t tag,
                                enum MvChannelType type, const char *endpoint) {
    struct MvOpenChannelParams params = {
        .version = 1,
        .v1 = {
            .notification_handle = notifications_handle,
            .notification_tag = tag,
            .network_handle = network,
            .receive_buffer = rx_buffer,
            .receive_buffer_len = sizeof(rx_buffer),
            .send_buffer = tx_buffer,
            .send_buffer_len = sizeof(tx_buffer),
            .channel_type = type,
            .endpoint = {.data = (const uint8_t *)endpoint, .length = (uint32_t)strlen(endpoint)},
        },
    };
    MvChannelHandle channel = 0;
    enum MvStatus status = mvOpenChannel(&params, &channel);
    if (status != MV_STATUS_OKAY) fw_fail("mvOpenChannel", status);
    return channel;
}

/* ---- MQTT ---- */

void fw_mqtt_connect(MvChannelHandle channel, const char *host, uint16_t port, const char *client_id) {
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
    enum MvStatus status = mvMqttRequestConnect(channel, &connect);
    if (status != MV_STATUS_OKAY) fw_fail("mvMqttRequestConnect", status);
}

void fw_mqtt_subscribe(MvChannelHandle channel, const char *topic, uint32_t correlation_id) {
    struct MvMqttSubscription subscription = {
        .topic = {.data = (const uint8_t *)topic, .length = (uint32_t)strlen(topic)},
        .desired_qos = 1,
    };
    struct MvMqttSubscribeRequest subscribe = {.correlation_id = correlation_id, .subscriptions = &subscription, .num_subscriptions = 1};
    enum MvStatus status = mvMqttRequestSubscribe(channel, &subscribe);
    if (status != MV_STATUS_OKAY) fw_fail("mvMqttRequestSubscribe", status);
}

enum MvMqttRequestState fw_mqtt_read_subscribe(MvChannelHandle channel, uint32_t correlation_id, uint32_t *granted) {
    enum MvMqttRequestState state = MV_MQTTREQUESTSTATE__MAX; /* none until read */
    uint32_t id = 0, count = 0;
    *granted = 0;
    struct MvMqttSubscribeResponse r = {
        .request_state = &state, .correlation_id = &id,
        .reason_codes = granted, .reason_codes_size = 1, .reason_codes_len = &count,
    };
    enum MvStatus status = mvMqttReadSubscribeResponse(channel, &r);
    if (status != MV_STATUS_OKAY) fw_fail("mvMqttReadSubscribeResponse", status);
    if (id != correlation_id || count != 1) {
        printf("subscribe response to request %lu with %lu reason codes\n", (unsigned long)id, (unsigned long)count);
        fw_exit(1);
    }
    return state;
}
