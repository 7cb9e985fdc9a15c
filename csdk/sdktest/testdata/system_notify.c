/* System notifications: a NETWORK stream hears the link come up; an UPDATE
 * stream hears the update that SIGUSR1 makes the embedded cloud announce
 * (run with MVNET_UPDATE_SIGNAL=1).
 * Exits 0 when both arrived, 1 otherwise. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "mv_syscalls.h"
#include "stm32u585xx.h"
#include "stm32u5xx_hal.h"

#define TAG_NET 0x51
#define TAG_UPD 0x52

static volatile struct MvNotification ring[8];
static volatile unsigned next_slot;
static volatile int net_events, upd_events;

void TIM2_IRQHandler(void) {
    volatile struct MvNotification *n = &ring[next_slot];
    if (n->event_type == MV_EVENTTYPE_NETWORKSTATUSCHANGED && n->tag == TAG_NET) net_events++;
    if (n->event_type == MV_EVENTTYPE_UPDATEDOWNLOADED && n->tag == TAG_UPD) upd_events++;
    n->event_type = MV_EVENTTYPE_NOEVENT;
    next_slot = (next_slot + 1) % 8;
}

static int wait_for(volatile int *counter, const char *what) {
    for (int i = 0; i < 10000 && *counter == 0; i++) HAL_Delay(1);
    if (*counter == 0) {
        printf("no %s event\n", what);
        return 0;
    }
    return 1;
}

int main(void) {
    memset((void *)ring, 0, sizeof(ring));
    struct MvNotificationSetup setup = {.irq = TIM2_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof(ring)};
    MvNotificationHandle centre = 0;
    if (mvSetupNotifications(&setup, &centre) != MV_STATUS_OKAY) return 1;
    NVIC_EnableIRQ(TIM2_IRQn);

    struct MvOpenSystemNotificationParams net = {.notification_handle = centre, .notification_tag = TAG_NET,
                                                 .notification_source = MV_SYSTEMNOTIFICATIONSOURCE_NETWORK};
    struct MvOpenSystemNotificationParams upd = {.notification_handle = centre, .notification_tag = TAG_UPD,
                                                 .notification_source = MV_SYSTEMNOTIFICATIONSOURCE_UPDATE};
    MvSystemEventHandle net_h = 0, upd_h = 0;
    if (mvOpenSystemNotification(&net, &net_h) != MV_STATUS_OKAY) return 1;
    if (mvOpenSystemNotification(&upd, &upd_h) != MV_STATUS_OKAY) return 1;
    /* Requesting the network makes the kernel bring the link up if it is
     * not up yet; either way the NETWORK stream hears a change when we
     * release it and the link goes down. */
    struct MvRequestNetworkParams rp = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = 1}};
    MvNetworkHandle nh = 0;
    if (mvRequestNetwork(&rp, &nh) != MV_STATUS_OKAY) return 1;
    enum MvNetworkStatus st = MV_NETWORKSTATUS_CONNECTING;
    for (int i = 0; i < 10000 && st != MV_NETWORKSTATUS_CONNECTED; i++) {
        mvGetNetworkStatus(nh, &st);
        HAL_Delay(1);
    }
    raise(SIGUSR1); /* the embedded cloud announces an update */
    if (!wait_for(&upd_events, "UPDATEDOWNLOADED")) return 1;
    net_events = 0;
    if (mvReleaseNetwork(&nh) != MV_STATUS_OKAY) return 1;
    if (!wait_for(&net_events, "NETWORKSTATUSCHANGED")) return 1;
    if (mvCloseSystemNotification(&upd_h) != MV_STATUS_OKAY || upd_h != 0) return 1;
    if (mvCloseSystemNotification(&net_h) != MV_STATUS_OKAY) return 1;
    printf("network events %d, update events %d\n", net_events, upd_events);
    return 0;
}
