/*
 * fw.h: what mvnet's test firmware shares — the STM32U585 and Cortex-M33
 * registers the programs touch (addresses from the STM32U585 reference
 * manual and the ARMv8-M architecture: facts; the code is ours), the
 * notification plumbing, logging and the exit path. Written for this
 * project; no vendor header is used.
 *
 * Built with FW_HOSTED (fwbuild.BuildHosted), the network programs
 * (http_get, mqtt, config_log) compile for the host against libmvnet
 * instead: the interrupt primitives become the host SDK's CMSIS calls and
 * no register is touched, so the same program logic can be checked against
 * the kernel without the emulator.
 */
#ifndef FW_H
#define FW_H

#include <stdbool.h>
#include <stdint.h>

#include "mv_syscalls.h"

#define FW_IRQ_COUNT 125 /* STM32U585 device interrupts */

#ifdef FW_HOSTED
#include "stm32u5xx.h" /* the host SDK: NVIC and CMSIS intrinsics on libmvnet */
#else
#define REG32(addr) (*(volatile uint32_t *)(addr))
#define REG8(addr) (*(volatile uint8_t *)(addr))

/* ---- Cortex-M33 system control space ---- */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) REG32(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n))
#define NVIC_IPR(irq) REG8(0xE000E400u + (irq))
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_SHPR(n) REG8(0xE000ED18u + (n) - 4u) /* system handler n (4..15) */
#define SCB_SHCSR REG32(0xE000ED24u)

#define ICSR_PENDSVSET (1u << 28)
#define CCR_DIV_0_TRP (1u << 4)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)

/* ---- STM32U585 non-secure peripheral aliases ---- */
#define RCC_BASE 0x46020C00u
#define RCC_AHB2ENR1 REG32(RCC_BASE + 0x08Cu)
#define RCC_APB1ENR1 REG32(RCC_BASE + 0x09Cu)
#define RCC_AHB2ENR1_GPIOAEN (1u << 0)
#define RCC_AHB2ENR1_GPIOBEN (1u << 1)
#define RCC_AHB2ENR1_GPIODEN (1u << 3)
#define RCC_APB1ENR1_USART2EN (1u << 17)
#define RCC_APB1ENR1_I2C1EN (1u << 21)

#define GPIOA_BASE 0x42020000u
#define GPIOB_BASE 0x42020400u
#define GPIOD_BASE 0x42020C00u
#define GPIO_MODER(base) REG32((base) + 0x00u)
#define GPIO_OTYPER(base) REG32((base) + 0x04u)
#define GPIO_AFRL(base) REG32((base) + 0x20u)
#define GPIO_AFRH(base) REG32((base) + 0x24u)

#define USART2_BASE 0x40004400u
#define USART_CR1(base) REG32((base) + 0x00u)
#define USART_BRR(base) REG32((base) + 0x0Cu)
#define USART_ISR(base) REG32((base) + 0x1Cu)
#define USART_TDR(base) REG32((base) + 0x28u)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_TE (1u << 3)
#define USART_ISR_TXE (1u << 7)

#define I2C1_BASE 0x40005400u
#define I2C_CR1(base) REG32((base) + 0x00u)
#define I2C_CR2(base) REG32((base) + 0x04u)
#define I2C_TIMINGR(base) REG32((base) + 0x10u)
#define I2C_ISR(base) REG32((base) + 0x18u)
#define I2C_ICR(base) REG32((base) + 0x1Cu)
#define I2C_RXDR(base) REG32((base) + 0x24u)
#define I2C_TXDR(base) REG32((base) + 0x28u)
#define I2C_CR1_PE (1u << 0)
#define I2C_CR2_RD_WRN (1u << 10)
#define I2C_CR2_START (1u << 13)
#define I2C_CR2_STOP (1u << 14)
#define I2C_CR2_NBYTES(n) ((uint32_t)(n) << 16)
#define I2C_CR2_AUTOEND (1u << 25)
#define I2C_ISR_TXIS (1u << 1)
#define I2C_ISR_RXNE (1u << 2)
#define I2C_ISR_NACKF (1u << 4)
#define I2C_ISR_STOPF (1u << 5)
#define I2C_ISR_TC (1u << 6)
#define I2C_ICR_NACKCF (1u << 4)
#define I2C_ICR_STOPCF (1u << 5)

#endif /* !FW_HOSTED */

/* ---- Interrupts ---- */
#define FW_NOTIFY_IRQ 51u /* TIM8_BRK: the IRQ the programs give their notification centre */

#ifdef FW_HOSTED
static inline void fw_irq_enable(uint32_t irq) {
    NVIC_ClearPendingIRQ((IRQn_Type)irq);
    NVIC_EnableIRQ((IRQn_Type)irq);
}
static inline void fw_irq_disable(uint32_t irq) { NVIC_DisableIRQ((IRQn_Type)irq); }
static inline void fw_disable_irq(void) { __disable_irq(); }
static inline void fw_enable_irq(void) { __enable_irq(); }
static inline void fw_wfi(void) { __WFI(); }
#else
static inline void fw_irq_enable(uint32_t irq) {
    NVIC_ICPR(irq / 32u) = 1u << (irq % 32u);
    NVIC_ISER(irq / 32u) = 1u << (irq % 32u);
}
static inline void fw_irq_disable(uint32_t irq) { NVIC_ICER(irq / 32u) = 1u << (irq % 32u); }
static inline void fw_disable_irq(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void fw_enable_irq(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void fw_wfi(void) { __asm volatile("wfi" ::: "memory"); }
static inline void fw_set_msplim(uint32_t v) { __asm volatile("msr msplim, %0" ::"r"(v) : "memory"); }
#endif

/* ---- fw.c ---- */

/* fw_exit reports code with mvTestingComplete and stops there. */
__attribute__((noreturn)) void fw_exit(uint32_t code);

/* fw_fail prints what failed with its status to the console and exits 1. */
__attribute__((noreturn)) void fw_fail(const char *what, enum MvStatus status);

/* fw_console_init enables USART2 transmission; printf writes there. */
void fw_console_init(void);

/* fw_log_init gives the system the server-log buffer; fw_log formats one
 * line, sends it with mvServerLog and echoes it to the console. */
void fw_log_init(void);
void fw_log(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Notifications: fw_notify_init sets up a notification centre on
 * FW_NOTIFY_IRQ and enables the IRQ; the handler counts events per tag
 * (tags below FW_TAGS). fw_wait sleeps (WFI, interrupts masked around the
 * check so none is missed) until an event with tag arrives, consumes it
 * and returns its type. */
#define FW_TAGS 8
MvNotificationHandle fw_notify_init(void);
enum MvEventType fw_wait(uint32_t tag);

/* fw_network requests the network and waits until it is connected. */
MvNetworkHandle fw_network(MvNotificationHandle notifications, uint32_t tag);

/* fw_open_channel opens a channel of type with the 512-byte-aligned
 * buffers of fw.c (one channel at a time). */
MvChannelHandle fw_open_channel(MvNotificationHandle notifications, MvNetworkHandle network, uint32_t tag,
                                enum MvChannelType type, const char *endpoint);

/* MQTT requests the programs share: fw_mqtt_connect asks to connect the
 * channel to host:port as client_id (MQTT 5, plain TCP, no
 * authentication, 60 s keep-alive, clean start); fw_mqtt_subscribe asks
 * to subscribe to topic at QoS 1. A refused request ends the run
 * (fw_fail). */
void fw_mqtt_connect(MvChannelHandle channel, const char *host, uint16_t port, const char *client_id);
void fw_mqtt_subscribe(MvChannelHandle channel, const char *topic, uint32_t correlation_id);
/* fw_mqtt_read_subscribe reads the response to a one-topic subscribe: its
 * request state, and in *granted the QoS granted; a response to another
 * request than correlation_id, or with another number of reason codes,
 * ends the run. */
enum MvMqttRequestState fw_mqtt_read_subscribe(MvChannelHandle channel, uint32_t correlation_id, uint32_t *granted);

#endif /* FW_H */
