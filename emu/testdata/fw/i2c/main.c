/*
 * i2c: a HAL-style, register-level I2C read. Enables GPIOB and I2C1 in
 * RCC, puts PB6/PB7 in alternate function 4 (I2C1 SCL/SDA, open drain),
 * then reads the 16-bit ambient-temperature register (0x05) of the MCP9808
 * at address 0x18 on I2C1: a write of the register pointer, then a
 * two-byte read with AUTOEND. The temperature is printed over USART2 in
 * hundredths of a degree (no floating point), and the run finishes with
 * mvTestingComplete: 0 when the read went through.
 */
#include <stdio.h>

#include "fw.h"

#define MCP9808_ADDR 0x18u
#define MCP9808_TA 0x05u
#define SPIN 100000u /* polls before a register wait gives up */

static bool wait_flag(uint32_t flag, const char *what) {
    for (uint32_t i = 0; i < SPIN; i++) {
        uint32_t isr = I2C_ISR(I2C1_BASE);
        if (isr & I2C_ISR_NACKF) {
            I2C_ICR(I2C1_BASE) = I2C_ICR_NACKCF;
            printf("i2c: NACK waiting for %s\n", what);
            return false;
        }
        if (isr & flag) return true;
    }
    printf("i2c: timed out waiting for %s\n", what);
    return false;
}

static bool read_register(uint8_t addr, uint8_t reg, uint8_t *out, uint32_t n) {
    /* Write the register pointer; no STOP, a repeated START follows. */
    I2C_CR2(I2C1_BASE) = ((uint32_t)addr << 1) | I2C_CR2_NBYTES(1) | I2C_CR2_START;
    if (!wait_flag(I2C_ISR_TXIS, "TXIS")) return false;
    I2C_TXDR(I2C1_BASE) = reg;
    if (!wait_flag(I2C_ISR_TC, "TC")) return false;
    /* Read n bytes, then STOP automatically. */
    I2C_CR2(I2C1_BASE) = ((uint32_t)addr << 1) | I2C_CR2_RD_WRN | I2C_CR2_NBYTES(n) | I2C_CR2_AUTOEND | I2C_CR2_START;
    for (uint32_t i = 0; i < n; i++) {
        if (!wait_flag(I2C_ISR_RXNE, "RXNE")) return false;
        out[i] = (uint8_t)I2C_RXDR(I2C1_BASE);
    }
    if (!wait_flag(I2C_ISR_STOPF, "STOPF")) return false;
    I2C_ICR(I2C1_BASE) = I2C_ICR_STOPCF;
    return true;
}

int main(void) {
    fw_console_init();
    RCC_AHB2ENR1 |= RCC_AHB2ENR1_GPIOBEN;
    RCC_APB1ENR1 |= RCC_APB1ENR1_I2C1EN;
    (void)RCC_APB1ENR1; /* read back: the clock is on before the first access */
    GPIO_MODER(GPIOB_BASE) = (GPIO_MODER(GPIOB_BASE) & ~(0xFu << 12)) | (0xAu << 12); /* PB6, PB7: AF */
    GPIO_OTYPER(GPIOB_BASE) |= (1u << 6) | (1u << 7);                                   /* open drain */
    GPIO_AFRL(GPIOB_BASE) = (GPIO_AFRL(GPIOB_BASE) & ~(0xFFu << 24)) | (0x44u << 24);   /* AF4 */
    I2C_CR1(I2C1_BASE) = 0;
    I2C_TIMINGR(I2C1_BASE) = 0x30909DECu; /* 100 kHz at 160 MHz */
    I2C_CR1(I2C1_BASE) = I2C_CR1_PE;

    uint8_t raw[2];
    if (!read_register(MCP9808_ADDR, MCP9808_TA, raw, 2)) fw_exit(1);
    /* MCP9808 TA: 13 bits, two's complement in sixteenths of a degree. */
    int32_t sixteenths = (int32_t)(((uint32_t)(raw[0] & 0x1Fu) << 8) | raw[1]);
    if (sixteenths & 0x1000) sixteenths -= 0x2000;
    int32_t centi = sixteenths * 100 / 16;
    printf("i2c: MCP9808 at 0x%02x: raw 0x%02x%02x, temperature %ld.%02ld C\n", (unsigned)MCP9808_ADDR, raw[0],
           raw[1], (long)(centi / 100), (long)((centi < 0 ? -centi : centi) % 100));
    return 0;
}
