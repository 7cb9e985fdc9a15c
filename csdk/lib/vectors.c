/*
 * vectors.c: the STM32U585 vector table of the host C SDK. Each device IRQ
 * is served by the application's function of the vector's name, e.g.
 * TIM8_BRK_IRQHandler for IRQ 51.
 *
 * The names are weak references, not weak definitions: an application that
 * defines a handler supplies it, one that does not leaves the reference
 * NULL, and the interrupt thread then records the IRQ as unhandled. This
 * works the same for the static and the shared library — a weak definition
 * inside libmvnet.so would bind to itself (Go links shared libraries with
 * -Bsymbolic) and hide the application's handler.
 */
#include <stddef.h>

#include "stm32u585xx.h"
#include "irq.h"

#define WEAK_REF(name, n) extern void name##_IRQHandler(void) __attribute__((weak));
MVNET_STM32U585_IRQS(WEAK_REF)

/* The X-macro list and the enumeration must agree. */
#define CHECK_NUMBER(name, n) _Static_assert(name##_IRQn == (n), #name "_IRQn is not " #n);
MVNET_STM32U585_IRQS(CHECK_NUMBER)
_Static_assert(FMAC_IRQn == MVNET_IRQ_COUNT - 1, "MVNET_IRQ_COUNT");

#define ENTRY(name, n) [n] = {#name "_IRQHandler", name##_IRQHandler},
static const struct {
	const char *name;
	mvnet_handler handler;
} table[MVNET_IRQ_COUNT] = {MVNET_STM32U585_IRQS(ENTRY)};

mvnet_handler mvnet_vector(int irq) {
	if (irq < 0 || irq >= MVNET_IRQ_COUNT) {
		return NULL;
	}
	return table[irq].handler;
}

const char *mvnet_vector_name(int irq) {
	if (irq < 0 || irq >= MVNET_IRQ_COUNT) {
		return "";
	}
	return table[irq].name;
}
