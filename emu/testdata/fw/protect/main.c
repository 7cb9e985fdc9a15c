/*
 * protect: a store into memory Microvisor write-protects, chosen by the
 * build define FW_PROTECT (default 1):
 *
 *   1 opens an HTTP channel, stores into the byte after its send buffer
 *     (allowed: the same 4 KiB page), then a word into the send buffer
 *     itself: a MemManage data access violation ("attempts to write to the
 *     send buffer will trigger an application crash"), escalated to
 *     HardFault (Default_Handler): a crash report
 *   2 gives mvServerLoggingInit a buffer and stores into it: the same
 *   3 opens a channel, closes it, and stores into the former send buffer:
 *     allowed again (the close removed the protection); mvTestingComplete(0)
 *     when the store went through, 1 if the buffer was not zeroed by the close
 *
 * Before each store the program prints the address it writes, so the test
 * can find it in the report's MMFAR line.
 */
#include <stdio.h>
#include <string.h>

#include "fw.h"

#ifndef FW_PROTECT
#define FW_PROTECT 1
#endif

#define TAG_NETWORK 1
#define TAG_CHANNEL 2

/* The send buffer first on its own 4 KiB page, a byte that is not protected
 * right after it; spec/abi.md: 512-byte aligned multiples of 512 bytes. */
static struct {
    uint8_t send[512];
    uint8_t after[16];
} page __attribute__((aligned(4096)));
static uint8_t receive[512] __attribute__((aligned(512)));
static uint8_t logs[512] __attribute__((aligned(512)));

static MvChannelHandle open_channel(void) {
    MvNotificationHandle notifications = fw_notify_init();
    MvNetworkHandle network = fw_network(notifications, TAG_NETWORK);
    struct MvOpenChannelParams params = {
        .version = 1,
        .v1 = {
            .notification_handle = notifications,
            .notification_tag = TAG_CHANNEL,
            .network_handle = network,
            .receive_buffer = receive,
            .receive_buffer_len = sizeof(receive),
            .send_buffer = page.send,
            .send_buffer_len = sizeof(page.send),
            .channel_type = MV_CHANNELTYPE_HTTP,
            .endpoint = {.data = (const uint8_t *)"", .length = 0},
        },
    };
    MvChannelHandle channel = 0;
    enum MvStatus status = mvOpenChannel(&params, &channel);
    if (status != MV_STATUS_OKAY) fw_fail("mvOpenChannel", status);
    return channel;
}

__attribute__((noinline)) static void store_word(volatile uint32_t *p, uint32_t v) {
    printf("protect: storing at 0x%08lx\n", (unsigned long)(uintptr_t)p);
    *p = v;
}

int main(void) {
    enum MvStatus status;
    switch (FW_PROTECT) {
    case 1:
        open_channel();
        page.after[0] = 1; /* next to the send buffer: allowed */
        store_word((volatile uint32_t *)&page.send[16], 0xdeadbeef);
        break;
    case 2:
        if ((status = mvServerLoggingInit(logs, sizeof(logs))) != MV_STATUS_OKAY) fw_fail("mvServerLoggingInit", status);
        store_word((volatile uint32_t *)&logs[32], 0xdeadbeef);
        break;
    case 3: {
        page.send[0] = 0x5a; /* before the open: allowed */
        MvChannelHandle channel = open_channel();
        if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY) fw_fail("mvCloseChannel", status);
        if (page.send[0] != 0) {
            printf("protect: the closed channel's send buffer was not zeroed\n");
            return 1;
        }
        store_word((volatile uint32_t *)&page.send[16], 0xdeadbeef);
        printf("protect: stored 0x%08lx after the close\n", (unsigned long)*(volatile uint32_t *)&page.send[16]);
        return 0;
    }
    default:
        printf("protect: no case %d\n", FW_PROTECT);
        return 2;
    }
    printf("protect: still running after the store\n");
    return 1;
}
