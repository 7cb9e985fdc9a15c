/*
 * mv-sensor-demo main: the board's start-up as Microvisor applications
 * write it (HAL_Init, clocks from Microvisor, GPIO, UART, I2C), the
 * sensor checked before any network work, then FreeRTOS threads through
 * CMSIS-RTOS2: the LED blinker and the network task.
 */
#include "main.h"

I2C_HandleTypeDef hi2c1;
UART_HandleTypeDef huart2;
volatile float last_celsius;

static void system_clock_config(void);
static void gpio_init(void);
static void usart2_init(void);
static void i2c1_init(void);
static void led_task(void *argument);

static const osThreadAttr_t led_attributes = {
    .name = "LEDTask",
    .stack_size = configMINIMAL_STACK_SIZE * 4,
    .priority = (osPriority_t)osPriorityNormal,
};
static const osThreadAttr_t network_attributes = {
    .name = "NetworkTask",
    .stack_size = 4096,
    .priority = (osPriority_t)osPriorityNormal,
};

int main(void) {
    HAL_Init();
    system_clock_config();
    gpio_init();
    usart2_init();
    log_init();
    i2c1_init();

    server_log("mv-sensor-demo starting");
    if (!mcp9808_init(&hi2c1)) {
        server_log("no MCP9808 at 0x%02x on I2C1", MCP9808_ADDR);
        Error_Handler();
    }
    float celsius = 0;
    if (!mcp9808_read(&hi2c1, &celsius)) {
        Error_Handler();
    }
    last_celsius = celsius;
    server_log("temperature %.2f C", (double)celsius);

    osKernelInitialize();
    osThreadNew(led_task, NULL, &led_attributes);
    osThreadNew(network_task, NULL, &network_attributes);
    osKernelStart();

    for (;;) {
    }
}

/* Microvisor owns the clocks: the application reads them. */
static void system_clock_config(void) {
    uint32_t hz = 0;
    if (mvGetHClk(&hz) == MV_STATUS_OKAY) {
        SystemCoreClock = hz;
    }
}

static void gpio_init(void) {
    __HAL_RCC_GPIOA_CLK_ENABLE()
    GPIO_InitTypeDef gpio = {0};
    gpio.Pin = LED_PIN;
    gpio.Mode = GPIO_MODE_OUTPUT_PP;
    gpio.Pull = GPIO_NOPULL;
    gpio.Speed = GPIO_SPEED_FREQ_LOW;
    HAL_GPIO_Init(LED_PORT, &gpio);
    HAL_GPIO_WritePin(LED_PORT, LED_PIN, GPIO_PIN_RESET);
}

static void usart2_init(void) {
    huart2.Instance = USART2;
    huart2.Init.BaudRate = 115200;
    huart2.Init.WordLength = UART_WORDLENGTH_8B;
    huart2.Init.StopBits = UART_STOPBITS_1;
    huart2.Init.Parity = UART_PARITY_NONE;
    huart2.Init.Mode = UART_MODE_TX;
    huart2.Init.HwFlowCtl = UART_HWCONTROL_NONE;
    huart2.Init.OverSampling = UART_OVERSAMPLING_16;
    if (HAL_UART_Init(&huart2) != HAL_OK) {
        Error_Handler();
    }
}

static void i2c1_init(void) {
    __HAL_RCC_I2C1_CLK_ENABLE();
    hi2c1.Instance = I2C1;
    hi2c1.Init.Timing = 0x00C01F67;
    hi2c1.Init.OwnAddress1 = 0;
    hi2c1.Init.AddressingMode = I2C_ADDRESSINGMODE_7BIT;
    hi2c1.Init.DualAddressMode = I2C_DUALADDRESS_DISABLE;
    hi2c1.Init.OwnAddress2 = 0;
    hi2c1.Init.GeneralCallMode = I2C_GENERALCALL_DISABLE;
    hi2c1.Init.NoStretchMode = I2C_NOSTRETCH_DISABLE;
    if (HAL_I2C_Init(&hi2c1) != HAL_OK) {
        Error_Handler();
    }
}

static void led_task(void *argument) {
    (void)argument;
    for (;;) {
        HAL_GPIO_TogglePin(LED_PORT, LED_PIN);
        osDelay(pdMS_TO_TICKS(500));
    }
}

void Error_Handler(void) {
    server_log("fatal error");
    for (;;) {
        HAL_GPIO_TogglePin(LED_PORT, LED_PIN);
        HAL_Delay(100);
    }
}
