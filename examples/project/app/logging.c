/* Logging: every line goes to USART2 and, through Microvisor's server
 * logging, to the cloud. */
#include <stdarg.h>

#include "main.h"

static uint8_t log_buffer[4096] __attribute__((aligned(512)));

void log_init(void) {
    if (mvServerLoggingInit(log_buffer, sizeof log_buffer) != MV_STATUS_OKAY) {
        const char *msg = "server logging unavailable\r\n";
        HAL_UART_Transmit(&huart2, (const uint8_t *)msg, (uint16_t)strlen(msg), 100);
    }
}

void server_log(const char *fmt, ...) {
    char line[200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof line - 3) {
        n = (int)(sizeof line - 3);
    }
    mvServerLog((const uint8_t *)line, (uint16_t)n);
    line[n] = '\r';
    line[n + 1] = '\n';
    HAL_UART_Transmit(&huart2, (const uint8_t *)line, (uint16_t)(n + 2), 100);
}
