/*
 * nvic.c: libmvnet's interrupt controller. The kernel pends an IRQ once per
 * notification record (mvnet_irq_pend); one interrupt thread owned by the
 * library calls the application's handler for it, once per pend, while the
 * IRQ is enabled and interrupts are not masked. The CMSIS NVIC calls of
 * stm32u585xx.h and the extensions of mvnet.h act on the same state. How
 * this differs from a Cortex-M33 is described at the top of stm32u585xx.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stm32u585xx.h"
#include "mvnet.h"
#include "irq.h"
#include "_cgo_export.h"

#define N MVNET_IRQ_COUNT
#define PRIO_SHIFT (8U - __NVIC_PRIO_BITS) /* priorities live in the top bits, as in hardware */

/* mu guards everything below it. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER; /* something may be deliverable */
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER; /* a handler returned, or nothing is deliverable */
static pthread_cond_t woken = PTHREAD_COND_INITIALIZER; /* wakeups changed */
static uint32_t sys_pends[N];  /* counted pends from the system */
static uint8_t sw_pend[N];     /* the pending bit NVIC_SetPendingIRQ sets */
static uint8_t enabled[N];
static uint8_t prio[N];        /* as stored by hardware: value << PRIO_SHIFT */
static uint8_t exc_prio[16];   /* system exceptions, by -IRQn; stored, never used */
static uint64_t delivered[N];
static int primask;            /* __disable_irq() in force */
static uint32_t mask_depth;    /* counted masks (mvnet_irq_mask_enter) in force */
static int event_reg;          /* the event register of __SEV/__WFE */
static uint64_t wakeups;       /* counts what ends a __WFI/__WFE wait */
static int active = -1;        /* the IRQ whose handler is running */
static uint32_t prigroup;
static int trace_on;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static __thread int is_irq_thread; /* set on the interrupt thread only */
static __thread int in_handler;    /* while a handler runs: its exception number (IRQ + 16) */

static int device_irq(int32_t irqn) { return irqn >= 0 && irqn < N; }

/* wake ends __WFI and __WFE waits: an IRQ was pended, a handler returned, or
 * __SEV was called. mu held. */
static void wake(void) {
	wakeups++;
	pthread_cond_broadcast(&woken);
}

/* pick returns the IRQ to deliver next, or -1: the lowest priority value
 * among enabled IRQs with a pend, ties to the lowest number. mu held. */
static int pick(void) {
	if (primask || mask_depth > 0) {
		return -1;
	}
	int best = -1;
	for (int i = 0; i < N; i++) {
		if (!enabled[i] || (sys_pends[i] == 0 && !sw_pend[i])) {
			continue;
		}
		if (best < 0 || prio[i] < prio[best]) {
			best = i;
		}
	}
	return best;
}

static void *irq_main(void *arg) {
	(void)arg;
	is_irq_thread = 1;
	pthread_mutex_lock(&mu);
	for (;;) {
		int irq = pick();
		if (irq < 0) {
			pthread_cond_broadcast(&idle);
			pthread_cond_wait(&wake_cond, &mu);
			continue;
		}
		if (sw_pend[irq]) {
			sw_pend[irq] = 0;
		} else {
			sys_pends[irq]--;
		}
		active = irq;
		delivered[irq]++;
		int tr = trace_on;
		pthread_mutex_unlock(&mu);

		mvnet_handler h = mvnet_vector(irq);
		if (h != NULL) {
			if (tr) {
				mvnet_go_irq_delivered((uint32_t)irq, 1);
			}
			in_handler = irq + 16;
			h();
			in_handler = 0;
		} else {
			mvnet_go_irq_delivered((uint32_t)irq, 0); /* records "unhandled" */
		}

		pthread_mutex_lock(&mu);
		active = -1;
		pthread_cond_broadcast(&idle);
		event_reg = 1; /* an exception return sets the event register */
		wake();
	}
	return NULL;
}

/* start_thread sets the library up (configuration and trace, so that
 * deliveries are traced from the first) and creates the interrupt thread
 * with asynchronous signals blocked, so that the application's signal
 * handlers run on its own threads. Synchronous signals stay open: a fault
 * in a system call made from a handler must reach the Go runtime, which
 * turns it into PARAMETERFAULT. */
static void start_thread(void) {
	mvnet_go_init(); /* configuration and trace, as a first system call would */
	sigset_t all, old;
	sigfillset(&all);
	int keep[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT, SIGURG, SIGPROF};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		sigdelset(&all, keep[i]);
	}
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int err = pthread_create(&t, NULL, irq_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		abort(); /* no interrupts would ever be delivered */
	}
	pthread_detach(t);
}

static void ensure_thread(void) { pthread_once(&once, start_thread); }

void mvnet_irq_pend(uint32_t irq) {
	if (irq >= N) {
		return;
	}
	ensure_thread();
	pthread_mutex_lock(&mu);
	sys_pends[irq]++;
	if (enabled[irq] && !primask && mask_depth == 0) {
		pthread_cond_signal(&wake_cond);
	}
	wake();
	pthread_mutex_unlock(&mu);
}

/* mvnet_in_isr tells the CMSIS-RTOS2 stand-in (csdk/rtos/mvnet_isr.h) that
 * it is called from a handler, where it must not block, and is __get_IPSR
 * (cmsis_gcc.h): the handler's exception number, 0 outside handlers. */
int mvnet_in_isr(void) { return in_handler; }

/* The longest a __WFI or __WFE waits: a device running the HAL would be
 * woken by its 1 kHz SysTick at the latest. */
#define WAIT_NS 1000000L

/* wait_wakeup waits until wakeups moves on from seen, or WAIT_NS. mu held. */
static void wait_wakeup(uint64_t seen) {
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += WAIT_NS;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (wakeups == seen) {
		if (pthread_cond_timedwait(&woken, &mu, &deadline) == ETIMEDOUT) {
			break;
		}
	}
}

void mvnet_wait_for_interrupt(void) {
	if (is_irq_thread) {
		return; /* a handler would wait for itself */
	}
	pthread_mutex_lock(&mu);
	wait_wakeup(wakeups);
	pthread_mutex_unlock(&mu);
}

void mvnet_wait_for_event(void) {
	pthread_mutex_lock(&mu);
	if (!event_reg && !is_irq_thread) {
		wait_wakeup(wakeups);
	}
	event_reg = 0;
	pthread_mutex_unlock(&mu);
}

void mvnet_send_event(void) {
	pthread_mutex_lock(&mu);
	event_reg = 1;
	wake();
	pthread_mutex_unlock(&mu);
}

void mvnet_irq_set_trace(int on) {
	pthread_mutex_lock(&mu);
	trace_on = on;
	pthread_mutex_unlock(&mu);
}

/* wait_handler waits until the handler of irq (any handler if irq < 0) is
 * not running, unless called from a handler itself. mu held. */
static void wait_handler(int irq) {
	while (!is_irq_thread && active >= 0 && (irq < 0 || active == irq)) {
		pthread_cond_wait(&idle, &mu);
	}
}

void NVIC_EnableIRQ(IRQn_Type IRQn) {
	if (!device_irq(IRQn)) {
		return;
	}
	ensure_thread();
	pthread_mutex_lock(&mu);
	enabled[IRQn] = 1;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&mu);
}

void NVIC_DisableIRQ(IRQn_Type IRQn) {
	if (!device_irq(IRQn)) {
		return;
	}
	pthread_mutex_lock(&mu);
	enabled[IRQn] = 0;
	wait_handler(IRQn);
	pthread_mutex_unlock(&mu);
}

uint32_t NVIC_GetEnableIRQ(IRQn_Type IRQn) {
	if (!device_irq(IRQn)) {
		return 0;
	}
	pthread_mutex_lock(&mu);
	uint32_t on = enabled[IRQn];
	pthread_mutex_unlock(&mu);
	return on;
}

void NVIC_SetPendingIRQ(IRQn_Type IRQn) {
	if (!device_irq(IRQn)) {
		return;
	}
	ensure_thread();
	pthread_mutex_lock(&mu);
	sw_pend[IRQn] = 1;
	pthread_cond_signal(&wake_cond);
	wake();
	pthread_mutex_unlock(&mu);
}

void NVIC_ClearPendingIRQ(IRQn_Type IRQn) {
	if (!device_irq(IRQn)) {
		return;
	}
	pthread_mutex_lock(&mu);
	sys_pends[IRQn] = 0;
	sw_pend[IRQn] = 0;
	pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&mu);
}

uint32_t NVIC_GetPendingIRQ(IRQn_Type IRQn) {
	return mvnet_irq_pending_count(IRQn) > 0 ? 1 : 0;
}

uint32_t NVIC_GetActive(IRQn_Type IRQn) {
	if (!device_irq(IRQn)) {
		return 0;
	}
	pthread_mutex_lock(&mu);
	uint32_t a = active == (int)IRQn;
	pthread_mutex_unlock(&mu);
	return a;
}

void NVIC_SetPriority(IRQn_Type IRQn, uint32_t priority) {
	uint8_t v = (uint8_t)((priority << PRIO_SHIFT) & 0xFFU);
	pthread_mutex_lock(&mu);
	if (device_irq(IRQn)) {
		prio[IRQn] = v;
	} else if (IRQn < 0 && IRQn >= -15) {
		exc_prio[-IRQn] = v;
	}
	pthread_mutex_unlock(&mu);
}

uint32_t NVIC_GetPriority(IRQn_Type IRQn) {
	uint32_t v = 0;
	pthread_mutex_lock(&mu);
	if (device_irq(IRQn)) {
		v = prio[IRQn];
	} else if (IRQn < 0 && IRQn >= -15) {
		v = exc_prio[-IRQn];
	}
	pthread_mutex_unlock(&mu);
	return v >> PRIO_SHIFT;
}

void NVIC_SetPriorityGrouping(uint32_t PriorityGroup) {
	pthread_mutex_lock(&mu);
	prigroup = PriorityGroup & 7U;
	pthread_mutex_unlock(&mu);
}

uint32_t NVIC_GetPriorityGrouping(void) {
	pthread_mutex_lock(&mu);
	uint32_t g = prigroup;
	pthread_mutex_unlock(&mu);
	return g;
}

/* The split of a priority into preemption and sub-priority bits for a
 * grouping, as the Cortex-M defines it. */
static void split(uint32_t group, uint32_t *pre_bits, uint32_t *sub_bits) {
	group &= 7U;
	*pre_bits = (7U - group) > __NVIC_PRIO_BITS ? __NVIC_PRIO_BITS : 7U - group;
	*sub_bits = (group + __NVIC_PRIO_BITS) < 7U ? 0U : group + __NVIC_PRIO_BITS - 7U;
}

uint32_t NVIC_EncodePriority(uint32_t PriorityGroup, uint32_t PreemptPriority, uint32_t SubPriority) {
	uint32_t pre, sub;
	split(PriorityGroup, &pre, &sub);
	return ((PreemptPriority & ((1UL << pre) - 1UL)) << sub) | (SubPriority & ((1UL << sub) - 1UL));
}

void NVIC_DecodePriority(uint32_t Priority, uint32_t PriorityGroup, uint32_t *pPreemptPriority, uint32_t *pSubPriority) {
	uint32_t pre, sub;
	split(PriorityGroup, &pre, &sub);
	*pPreemptPriority = (Priority >> sub) & ((1UL << pre) - 1UL);
	*pSubPriority = Priority & ((1UL << sub) - 1UL);
}

void NVIC_SystemReset(void) {
	mvnet_go_system_reset(); /* returns only if the restart failed */
	abort();
}

void __enable_irq(void) {
	pthread_mutex_lock(&mu);
	primask = 0;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&mu);
}

void __disable_irq(void) {
	pthread_mutex_lock(&mu);
	primask = 1;
	wait_handler(-1);
	pthread_mutex_unlock(&mu);
}

void mvnet_irq_mask_enter(void) {
	pthread_mutex_lock(&mu);
	mask_depth++;
	wait_handler(-1);
	pthread_mutex_unlock(&mu);
}

void mvnet_irq_mask_exit(void) {
	pthread_mutex_lock(&mu);
	if (mask_depth > 0 && --mask_depth == 0) {
		pthread_cond_signal(&wake_cond);
	}
	pthread_mutex_unlock(&mu);
}

uint32_t __get_PRIMASK(void) {
	pthread_mutex_lock(&mu);
	uint32_t m = (uint32_t)primask;
	pthread_mutex_unlock(&mu);
	return m;
}

uint32_t mvnet_irq_pending_count(int32_t irqn) {
	if (!device_irq(irqn)) {
		return 0;
	}
	pthread_mutex_lock(&mu);
	uint32_t n = sys_pends[irqn] + sw_pend[irqn];
	pthread_mutex_unlock(&mu);
	return n;
}

uint64_t mvnet_irq_delivered_count(int32_t irqn) {
	if (!device_irq(irqn)) {
		return 0;
	}
	pthread_mutex_lock(&mu);
	uint64_t n = delivered[irqn];
	pthread_mutex_unlock(&mu);
	return n;
}

int mvnet_irq_wait_idle(uint32_t timeout_ms) {
	if (is_irq_thread) {
		return 0; /* it would wait for itself */
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000U;
	deadline.tv_nsec += (long)(timeout_ms % 1000U) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	int ok = 1;
	pthread_mutex_lock(&mu);
	while (active >= 0 || pick() >= 0) {
		if (pthread_cond_timedwait(&idle, &mu, &deadline) == ETIMEDOUT) {
			ok = active < 0 && pick() < 0;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	return ok;
}
