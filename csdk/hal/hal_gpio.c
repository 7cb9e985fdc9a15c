//go:build ignore

/*
 * hal_gpio.c — GPIO ports A…I as host objects, every action traced.
 *
 * Each port is a GPIO_TypeDef in host memory. HAL calls update its registers
 * under one lock and record one trace event per pin (kind "gpio"):
 *
 *   {"op":"init","port":"GPIOA","pin":5,"mode":"output_pp","pull":"up","speed":3}
 *   {"op":"write","port":"GPIOA","pin":5,"level":1}
 *   {"op":"toggle","port":"GPIOA","pin":5,"level":0}      (level after toggling)
 *       (+ "device":"led","state":"on" when a board's pin model is on it)
 *   {"op":"read","port":"GPIOC","pin":13,"level":1}
 *   {"op":"input","port":"GPIOC","pin":13,"level":0}     (mvnet_gpio_set_input;
 *       + "source":"board" when the board file drives the pin)
 *   {"op":"exti","line":13,"edge":"falling"}
 *   {"op":"deinit","port":"GPIOA","pin":5}
 *
 * Reads are recorded when the level a pin reads differs from the previous
 * read of that pin (and on its first read), so a polling loop does not flood
 * the trace while every change it observes is still there. A call naming a
 * port that is not GPIOA…GPIOI is recorded with "error":"bad port" and
 * otherwise ignored (reads return GPIO_PIN_RESET).
 *
 * Level model: ODR is what the application drives; IDR is what ReadPin
 * returns. Writes and toggles update ODR and, unless the pin is configured
 * as an input, IDR too: output, alternate-function and analog pins
 * (including never-initialised ones, which start analog as after a reset)
 * read back their own level. Input pins read the level set with
 * mvnet_gpio_set_input() or driven by the board file (docs/peripherals.md:
 * its "gpio" inputs, applied by one thread on the board's clock), else the
 * pull-up/pull-down level HAL_GPIO_Init gave them. Every output level goes to
 * the board's GPIO hook (mvnet_periph.h), which SPI chip selects and pin
 * models follow.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "stm32u5xx_hal.h"
#include "hal_internal.h"
#include "mvnet_trace.h"
#include "mvnet_periph.h" /* the board: mvnet_periph_gpio, mvnet_periph_gpio_input */

/* Pins start in analog mode, as after a reset (MODER all ones). */
#define PORT_RESET {.MODER = 0xFFFFFFFFU}
GPIO_TypeDef mvnet_gpio_port[MVNET_GPIO_PORT_COUNT] = {
    PORT_RESET, PORT_RESET, PORT_RESET, PORT_RESET, PORT_RESET,
    PORT_RESET, PORT_RESET, PORT_RESET, PORT_RESET,
};

/* mu guards the port registers and the bookkeeping below it. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint16_t read_seen[MVNET_GPIO_PORT_COUNT]; /* pins read at least once */
static uint16_t read_last[MVNET_GPIO_PORT_COUNT]; /* level at their last read */
/* EXTI lines 0…15: which port drives each (−1: none) and its trigger. */
static int exti_port[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static uint8_t exti_rising[16], exti_falling[16];
static uint16_t exti_pending_rising, exti_pending_falling;
/* Pins the board file drives (board_driven) and the level it drives them to
 * (board_level): an input pin reads that rather than its pull. */
static uint16_t board_driven[MVNET_GPIO_PORT_COUNT], board_level[MVNET_GPIO_PORT_COUNT];

/* The board (libmvnet), or none when the HAL is linked without it
 * (mvnet_periph.h). */
extern void mvnet_periph_gpio(struct mvnet_periph_pin *x) __attribute__((weak));
extern int mvnet_periph_gpio_input(struct mvnet_periph_pin *x, int32_t wait_ms) __attribute__((weak));

/* Application hooks: weak references, called only if something defines them
 * (see hal_symbols.c for why they are not weak definitions here). */
extern void mvnet_gpio_exti_raise(uint32_t line) __attribute__((weak));
/* The library's interrupt controller (csdk/lib/nvic.c), weak so that the HAL
 * links without it: a latched line pends EXTI<line>_IRQn there. */
#pragma weak NVIC_SetPendingIRQ
extern void HAL_GPIO_EXTI_Rising_Callback(uint16_t GPIO_Pin) __attribute__((weak));
extern void HAL_GPIO_EXTI_Falling_Callback(uint16_t GPIO_Pin) __attribute__((weak));

static void board_inputs(void);

static pthread_once_t ports_once = PTHREAD_ONCE_INIT;
static GPIO_TypeDef *ports_base;

static void find_ports(void) {
  ports_base = mvnet_hal_canonical("mvnet_gpio_port", mvnet_gpio_port);
}

/* GPIOA…GPIOI as the application sees them (hal_symbols.c). */
static GPIO_TypeDef *ports(void) {
  pthread_once(&ports_once, find_ports);
  return ports_base;
}

static const char *const port_names[MVNET_GPIO_PORT_COUNT] = {
    "GPIOA", "GPIOB", "GPIOC", "GPIOD", "GPIOE", "GPIOF", "GPIOG", "GPIOH", "GPIOI",
};

/* Mode bit fields (see the mode constants in stm32u5xx_hal_gpio.h). */
#define MODE_DIR_MASK 0x3U
#define MODE_OD_BIT 0x10U
#define MODE_EXTI_IT 0x00010000U
#define MODE_TRIG_RISING 0x00100000U
#define MODE_TRIG_FALLING 0x00200000U
#define MODER_INPUT 0x0U
#define MODER_ANALOG 0x3U

static int port_index(const GPIO_TypeDef *p) {
  GPIO_TypeDef *base = ports();
  for (int i = 0; i < MVNET_GPIO_PORT_COUNT; i++) {
    if (p == &base[i]) {
      return i;
    }
  }
  return -1;
}

static void trace(const char *fields) {
  mvnet_trace_event("gpio", fields);
}

static void trace_bad_port(const char *op, uint32_t pins) {
  char buf[96];
  snprintf(buf, sizeof buf, "\"op\":\"%s\",\"pins\":%u,\"error\":\"bad port\"", op, (unsigned)pins);
  trace(buf);
}

/* Traces `op` on one pin with its level; `extra` ("" for none) holds more
 * fields, each behind a comma. */
static void trace_level(const char *op, int port, int pin, int level, const char *extra) {
  char buf[192];
  snprintf(buf, sizeof buf, "\"op\":\"%s\",\"port\":\"%s\",\"pin\":%d,\"level\":%d%s", op, port_names[port], pin,
           level, extra);
  trace(buf);
}

static const char *mode_name(uint32_t mode) {
  switch (mode) {
  case GPIO_MODE_INPUT: return "input";
  case GPIO_MODE_OUTPUT_PP: return "output_pp";
  case GPIO_MODE_OUTPUT_OD: return "output_od";
  case GPIO_MODE_AF_PP: return "af_pp";
  case GPIO_MODE_AF_OD: return "af_od";
  case GPIO_MODE_ANALOG: return "analog";
  case GPIO_MODE_ANALOG_ADC_CONTROL: return "analog_adc";
  case GPIO_MODE_IT_RISING: return "it_rising";
  case GPIO_MODE_IT_FALLING: return "it_falling";
  case GPIO_MODE_IT_RISING_FALLING: return "it_rising_falling";
  case GPIO_MODE_EVT_RISING: return "evt_rising";
  case GPIO_MODE_EVT_FALLING: return "evt_falling";
  case GPIO_MODE_EVT_RISING_FALLING: return "evt_rising_falling";
  default: return "unknown";
  }
}

static const char *pull_name(uint32_t pull) {
  switch (pull) {
  case GPIO_NOPULL: return "none";
  case GPIO_PULLUP: return "up";
  case GPIO_PULLDOWN: return "down";
  default: return "unknown";
  }
}

static int pin_is_input(const GPIO_TypeDef *p, int pin) {
  return ((p->MODER >> (2 * pin)) & 0x3U) == MODER_INPUT;
}

static void set_bit(__IO uint32_t *reg, int pin, int level) {
  if (level) {
    *reg |= 1U << pin;
  } else {
    *reg &= ~(1U << pin);
  }
}

/* Drives `pin` of port `i` to `level` (the write/toggle rule above) and
 * records it as `op`. The board's GPIO hook follows every output level (SPI
 * chip selects, pin models such as an LED, whose state joins the event). */
static void drive(const char *op, int i, int pin, int level) {
  GPIO_TypeDef *p = &ports()[i];
  set_bit(&p->ODR, pin, level);
  if (!pin_is_input(p, pin)) {
    set_bit(&p->IDR, pin, level);
  }
  struct mvnet_periph_pin x = {.port = (uint32_t)i, .pin = (uint32_t)pin, .level = (uint32_t)level};
  if (mvnet_periph_gpio != NULL) {
    mvnet_periph_gpio(&x);
  }
  char extra[96] = "";
  if (x.device[0] != '\0') {
    /* Model names and states are plain ASCII without quotes (periph). */
    snprintf(extra, sizeof extra, ",\"device\":\"%s\",\"state\":\"%s\"", x.device, x.state);
  }
  trace_level(op, i, pin, level, extra);
}

static void init_pin(int i, int pin, const GPIO_InitTypeDef *init) {
  GPIO_TypeDef *p = &ports()[i];
  uint32_t mode = init->Mode;
  uint32_t dir = mode & MODE_DIR_MASK;
  MODIFY_REG(p->MODER, 0x3U << (2 * pin), dir << (2 * pin));
  MODIFY_REG(p->PUPDR, 0x3U << (2 * pin), (init->Pull & 0x3U) << (2 * pin));
  if (dir == 0x1U || dir == 0x2U) {
    MODIFY_REG(p->OSPEEDR, 0x3U << (2 * pin), (init->Speed & 0x3U) << (2 * pin));
    set_bit(&p->OTYPER, pin, (mode & MODE_OD_BIT) != 0);
  }
  if (dir == 0x2U) {
    int reg = pin / 8, shift = 4 * (pin % 8);
    MODIFY_REG(p->AFR[reg], 0xFU << shift, (init->Alternate & 0xFU) << shift);
  }
  if (dir == MODER_INPUT && (board_driven[i] & (1U << pin)) != 0) {
    set_bit(&p->IDR, pin, (board_level[i] >> pin) & 1U); /* the board's driver beats the pull */
  } else if (dir == MODER_INPUT && init->Pull == GPIO_PULLUP) {
    set_bit(&p->IDR, pin, 1);
  } else if (dir == MODER_INPUT && init->Pull == GPIO_PULLDOWN) {
    set_bit(&p->IDR, pin, 0);
  } else if (dir != MODER_INPUT) {
    set_bit(&p->IDR, pin, (int)((p->ODR >> pin) & 1U));
  }
  if ((mode & MODE_EXTI_IT) != 0) {
    exti_port[pin] = i;
    exti_rising[pin] = (mode & MODE_TRIG_RISING) != 0;
    exti_falling[pin] = (mode & MODE_TRIG_FALLING) != 0;
  } else if (exti_port[pin] == i) {
    exti_port[pin] = -1;
  }

  char buf[192];
  int n = snprintf(buf, sizeof buf, "\"op\":\"init\",\"port\":\"%s\",\"pin\":%d,\"mode\":\"%s\",\"pull\":\"%s\"",
                   port_names[i], pin, mode_name(mode), pull_name(init->Pull));
  if (dir == 0x1U || dir == 0x2U) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"speed\":%u", (unsigned)init->Speed);
  }
  if (dir == 0x2U) {
    snprintf(buf + n, sizeof buf - (size_t)n, ",\"af\":%u", (unsigned)init->Alternate);
  }
  trace(buf);
}

void HAL_GPIO_Init(GPIO_TypeDef *GPIOx, GPIO_InitTypeDef *GPIO_Init) {
  board_inputs();
  int i = port_index(GPIOx);
  if (i < 0 || GPIO_Init == NULL) {
    trace_bad_port("init", GPIO_Init != NULL ? GPIO_Init->Pin : 0U);
    return;
  }
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  for (int pin = 0; pin < 16; pin++) {
    if (GPIO_Init->Pin & (1U << pin)) {
      init_pin(i, pin, GPIO_Init);
    }
  }
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
}

void HAL_GPIO_DeInit(GPIO_TypeDef *GPIOx, uint32_t GPIO_Pin) {
  int i = port_index(GPIOx);
  if (i < 0) {
    trace_bad_port("deinit", GPIO_Pin);
    return;
  }
  GPIO_TypeDef *p = &ports()[i];
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  for (int pin = 0; pin < 16; pin++) {
    if ((GPIO_Pin & (1U << pin)) == 0) {
      continue;
    }
    /* Back to the reset configuration (analog, no pull); ODR is kept, as
     * ST's DeInit keeps it, and the pin reads it back again. */
    MODIFY_REG(p->MODER, 0x3U << (2 * pin), MODER_ANALOG << (2 * pin));
    MODIFY_REG(p->PUPDR, 0x3U << (2 * pin), 0U);
    MODIFY_REG(p->OSPEEDR, 0x3U << (2 * pin), 0U);
    set_bit(&p->OTYPER, pin, 0);
    set_bit(&p->IDR, pin, (int)((p->ODR >> pin) & 1U));
    if (exti_port[pin] == i) {
      exti_port[pin] = -1;
    }
    char buf[96];
    snprintf(buf, sizeof buf, "\"op\":\"deinit\",\"port\":\"%s\",\"pin\":%d", port_names[i], pin);
    trace(buf);
  }
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
}

GPIO_PinState HAL_GPIO_ReadPin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin) {
  board_inputs();
  int i = port_index(GPIOx);
  if (i < 0) {
    trace_bad_port("read", GPIO_Pin);
    return GPIO_PIN_RESET;
  }
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  uint32_t idr = ports()[i].IDR;
  for (int pin = 0; pin < 16; pin++) {
    uint16_t bit = (uint16_t)(1U << pin);
    if ((GPIO_Pin & bit) == 0) {
      continue;
    }
    uint16_t level = (idr & bit) ? bit : 0;
    if ((read_seen[i] & bit) == 0 || (read_last[i] & bit) != level) {
      read_seen[i] |= bit;
      read_last[i] = (uint16_t)((read_last[i] & ~bit) | level);
      trace_level("read", i, pin, level != 0, "");
    }
  }
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
  return (idr & GPIO_Pin) != 0U ? GPIO_PIN_SET : GPIO_PIN_RESET;
}

void HAL_GPIO_WritePin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin, GPIO_PinState PinState) {
  int i = port_index(GPIOx);
  if (i < 0) {
    trace_bad_port("write", GPIO_Pin);
    return;
  }
  int level = PinState != GPIO_PIN_RESET;
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  for (int pin = 0; pin < 16; pin++) {
    if (GPIO_Pin & (1U << pin)) {
      drive("write", i, pin, level);
    }
  }
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
}

void HAL_GPIO_TogglePin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin) {
  int i = port_index(GPIOx);
  if (i < 0) {
    trace_bad_port("toggle", GPIO_Pin);
    return;
  }
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  for (int pin = 0; pin < 16; pin++) {
    if (GPIO_Pin & (1U << pin)) {
      int level = ((ports()[i].ODR >> pin) & 1U) == 0;
      drive("toggle", i, pin, level);
    }
  }
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
}

HAL_StatusTypeDef HAL_GPIO_LockPin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin) {
  /* Locking is not emulated: the configuration stays changeable. */
  return port_index(GPIOx) >= 0 && GPIO_Pin != 0 ? HAL_OK : HAL_ERROR;
}

static void set_hslv(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin, int on) {
  int i = port_index(GPIOx);
  if (i < 0) {
    return;
  }
  pthread_mutex_lock(&mu);
  GPIO_TypeDef *p = &ports()[i];
  if (on) {
    p->HSLVR |= GPIO_Pin;
  } else {
    p->HSLVR &= ~(uint32_t)GPIO_Pin;
  }
  pthread_mutex_unlock(&mu);
}

void HAL_GPIO_EnableHighSPeedLowVoltage(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin) {
  set_hslv(GPIOx, GPIO_Pin, 1);
}

void HAL_GPIO_DisableHighSPeedLowVoltage(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin) {
  set_hslv(GPIOx, GPIO_Pin, 0);
}

/* Raises latched EXTI lines (no lock held): through mvnet_gpio_exti_raise
 * when something defines it, else by pending EXTI<line>_IRQn in the
 * library's interrupt controller, as the EXTI block does on the device. */
static void raise_lines(uint32_t lines) {
  for (uint32_t line = 0; line < 16; line++) {
    if ((lines & (1U << line)) == 0) {
      continue;
    }
    if (mvnet_gpio_exti_raise != NULL) {
      mvnet_gpio_exti_raise(line);
    } else if (NVIC_SetPendingIRQ != NULL) {
      NVIC_SetPendingIRQ((IRQn_Type)((uint32_t)EXTI0_IRQn + line));
    }
  }
}

/* Puts `level` on the pins `pins` of port i from outside (board: from the
 * board file), latching EXTI edges on input pins configured for them. */
static void set_input(int i, uint16_t pins, int level, int board) {
  uint16_t raised = 0;
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  for (int pin = 0; pin < 16; pin++) {
    if ((pins & (1U << pin)) == 0) {
      continue;
    }
    GPIO_TypeDef *p = &ports()[i];
    int before = (int)((p->IDR >> pin) & 1U);
    if (board) {
      board_driven[i] |= (uint16_t)(1U << pin);
      board_level[i] = (uint16_t)((board_level[i] & ~(1U << pin)) | ((unsigned)level << pin));
    }
    set_bit(&p->IDR, pin, level);
    trace_level("input", i, pin, level, board ? ",\"source\":\"board\"" : "");
    if (exti_port[pin] != i || before == level || !pin_is_input(p, pin)) {
      continue;
    }
    int fire = level ? exti_rising[pin] : exti_falling[pin];
    if (!fire) {
      continue;
    }
    if (level) {
      exti_pending_rising |= (uint16_t)(1U << pin);
    } else {
      exti_pending_falling |= (uint16_t)(1U << pin);
    }
    raised |= (uint16_t)(1U << pin);
    char buf[64];
    snprintf(buf, sizeof buf, "\"op\":\"exti\",\"line\":%d,\"edge\":\"%s\"", pin, level ? "rising" : "falling");
    trace(buf);
  }
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
  raise_lines(raised);
}

void mvnet_gpio_set_input(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin, GPIO_PinState PinState) {
  int i = port_index(GPIOx);
  if (i < 0) {
    trace_bad_port("input", GPIO_Pin);
    return;
  }
  set_input(i, GPIO_Pin, PinState != GPIO_PIN_RESET, 0);
}

/* The board's input pins (board file "gpio" entries with "input"): one
 * thread applies their levels as their timelines reach them, on the
 * board's clock, through the same path as mvnet_gpio_set_input, so edges
 * pend EXTI interrupts as real ones do. Levels due at once are applied
 * before the first HAL_GPIO_Init or ReadPin goes on. */
static pthread_once_t inputs_once = PTHREAD_ONCE_INIT;

static void apply_board_input(const struct mvnet_periph_pin *x) {
  if (x->port < MVNET_GPIO_PORT_COUNT && x->pin < 16U) {
    set_input((int)x->port, (uint16_t)(1U << x->pin), x->level != 0U, 1);
  }
}

static void *inputs_main(void *arg) {
  (void)arg;
  struct mvnet_periph_pin x;
  while (mvnet_periph_gpio_input(&x, -1) == 1) {
    apply_board_input(&x);
  }
  return NULL;
}

int mvnet_hal_board_thread(void *(*fn)(void *), void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int err = pthread_create(&th, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return err;
}

static void start_inputs(void) {
  if (mvnet_periph_gpio_input == NULL) {
    return; /* no library: no board */
  }
  struct mvnet_periph_pin x;
  int r;
  while ((r = mvnet_periph_gpio_input(&x, 0)) == 1) {
    apply_board_input(&x);
  }
  if (r != 0) {
    return; /* the board drives nothing more */
  }
  if (mvnet_hal_board_thread(inputs_main, NULL) != 0) {
    fprintf(stderr, "mvnet: cannot start the thread that drives the board's GPIO inputs\n");
  }
}

static void board_inputs(void) {
  pthread_once(&inputs_once, start_inputs);
}

void HAL_GPIO_EXTI_IRQHandler(uint16_t GPIO_Pin) {
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  int rising = (exti_pending_rising & GPIO_Pin) != 0;
  int falling = (exti_pending_falling & GPIO_Pin) != 0;
  exti_pending_rising &= (uint16_t)~GPIO_Pin;
  exti_pending_falling &= (uint16_t)~GPIO_Pin;
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
  if (rising && HAL_GPIO_EXTI_Rising_Callback != NULL) {
    HAL_GPIO_EXTI_Rising_Callback(GPIO_Pin);
  }
  if (falling && HAL_GPIO_EXTI_Falling_Callback != NULL) {
    HAL_GPIO_EXTI_Falling_Callback(GPIO_Pin);
  }
}

/* The pending edges of the EXTI lines in `lines` (a GPIO_PIN_* mask):
 * MVNET_EXTI_RISING, MVNET_EXTI_FALLING or both, for __HAL_GPIO_EXTI_*. */
uint32_t mvnet_gpio_exti_pending(uint32_t lines, uint32_t edges) {
  pthread_mutex_lock(&mu);
  uint32_t p = 0;
  if (edges & MVNET_EXTI_RISING) {
    p |= exti_pending_rising & lines;
  }
  if (edges & MVNET_EXTI_FALLING) {
    p |= exti_pending_falling & lines;
  }
  pthread_mutex_unlock(&mu);
  return p;
}

void mvnet_gpio_exti_clear(uint32_t lines, uint32_t edges) {
  pthread_mutex_lock(&mu);
  if (edges & MVNET_EXTI_RISING) {
    exti_pending_rising &= (uint16_t)~lines;
  }
  if (edges & MVNET_EXTI_FALLING) {
    exti_pending_falling &= (uint16_t)~lines;
  }
  pthread_mutex_unlock(&mu);
}

/* A software trigger (EXTI_SWIER1) latches the lines as rising edges and
 * raises them like an input edge does. */
void mvnet_gpio_exti_generate(uint32_t lines) {
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  exti_pending_rising |= (uint16_t)lines;
  for (int line = 0; line < 16; line++) {
    if (lines & (1U << line)) {
      char buf[64];
      snprintf(buf, sizeof buf, "\"op\":\"exti\",\"line\":%d,\"edge\":\"software\"", line);
      trace(buf);
    }
  }
  pthread_mutex_unlock(&mu);
  mvnet_hal_restore_cancel(cs);
  raise_lines(lines);
}
