package rtos_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FreeRTOS's headers compile as C11 (pedantic) and C++17 with warnings as
// errors, with FreeRTOS's values, both with the application's
// FreeRTOSConfig.h (testdata/freertos, shaped like the sample projects':
// port handler mappings, configASSERT, configPRIO_BITS from the NVIC) and
// without one (FreeRTOS's defaults).
func TestFreeRTOSHeadersCompile(t *testing.T) {
	gcc := need(t, "gcc")
	gxx := need(t, "g++")
	inc := includeFlags(t)
	config, err := filepath.Abs(filepath.Join("testdata", "freertos"))
	if err != nil {
		t.Fatal(err)
	}
	const body = `
#include "FreeRTOS.h"
#include "task.h"
#include "queue.h"
#include "semphr.h"
#include "timers.h"
#include "event_groups.h"
#include "cmsis_os.h"
#include "stm32u585xx.h"
static void task_fn(void *arg) { (void)arg; }
static void timer_fn(TimerHandle_t t) { (void)t; }
int use_freertos(void);
int use_freertos(void) {
  TaskHandle_t t = NULL;
  if (xTaskCreate(task_fn, "t", configMINIMAL_STACK_SIZE, NULL, tskIDLE_PRIORITY + 1, &t) != pdPASS) return -1;
  QueueHandle_t q = xQueueCreate(4, sizeof(uint32_t));
  SemaphoreHandle_t s = xSemaphoreCreateMutex();
  TimerHandle_t tm = xTimerCreate("tm", pdMS_TO_TICKS(100), pdTRUE, NULL, timer_fn);
  EventGroupHandle_t g = xEventGroupCreate();
  BaseType_t woken = pdFALSE;
  uint32_t v = 1;
  configASSERT(q != NULL);
  if (xQueueSendFromISR(q, &v, &woken) != pdPASS) return -2;
  portYIELD_FROM_ISR(woken);
  if (xSemaphoreTake(s, portMAX_DELAY) != pdTRUE) return -3;
  if (xTimerStart(tm, 0) != pdPASS) return -4;
  taskENTER_CRITICAL();
  taskEXIT_CRITICAL();
  return (int)xEventGroupWaitBits(g, 1, pdTRUE, pdFALSE, 0) + (int)configTICK_RATE_HZ;
}
`
	checks := []string{
		"pdTRUE == 1", "pdFALSE == 0", "pdPASS == 1", "pdFAIL == 0", "errQUEUE_FULL == 0", "errQUEUE_EMPTY == 0",
		"errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY == -1", "portMAX_DELAY == 0xffffffffUL", "sizeof(TickType_t) == 4",
		"sizeof(StackType_t) == 4", "queueSEND_TO_BACK == 0", "queueSEND_TO_FRONT == 1", "queueOVERWRITE == 2",
		"queueQUEUE_TYPE_MUTEX == 1", "queueQUEUE_TYPE_RECURSIVE_MUTEX == 4", "eNoAction == 0", "eSetBits == 1",
		"eIncrement == 2", "eSetValueWithOverwrite == 3", "eSetValueWithoutOverwrite == 4", "eRunning == 0",
		"eSuspended == 3", "eDeleted == 4", "taskSCHEDULER_SUSPENDED == 0", "taskSCHEDULER_NOT_STARTED == 1",
		"taskSCHEDULER_RUNNING == 2", "tmrCOMMAND_START == 1", "tmrCOMMAND_STOP == 3", "tmrCOMMAND_DELETE == 5",
		"tskIDLE_PRIORITY == 0",
	}
	for _, c := range []struct {
		name  string
		flags []string
		more  []string
	}{
		{"app-config", []string{"-I" + config}, []string{"configTICK_RATE_HZ == 500", "pdMS_TO_TICKS(1000) == 500",
			"configMINIMAL_STACK_SIZE == 256", "configMAX_PRIORITIES == 7", "configUSE_MUTEXES == 1",
			"configASSERT_DEFINED == 1", "configKERNEL_INTERRUPT_PRIORITY == (15 << 4)",
			"configMAX_TASK_NAME_LEN == 8", "configTOTAL_HEAP_SIZE == 4096"}},
		{"defaults", nil, []string{"configTICK_RATE_HZ == 1000", "pdMS_TO_TICKS(1000) == 1000",
			"configMINIMAL_STACK_SIZE == 128", "configMAX_PRIORITIES == 56", "configUSE_MUTEXES == 0",
			"configASSERT_DEFINED == 0", "configTOTAL_HEAP_SIZE == 65536", "configUSE_TIMERS == 0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var src strings.Builder
			src.WriteString(body)
			for i, chk := range append(append([]string{}, checks...), c.more...) {
				fmt.Fprintf(&src, "_Static_assert(%s, \"check %d\");\n", chk, i)
			}
			dir := t.TempDir()
			cfile := filepath.Join(dir, "freertos.c")
			text := src.String()
			if err := os.WriteFile(cfile, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append(append(append(append([]string{}, cFlags...), "-Wpedantic"), c.flags...), inc...)
			runTool(t, gcc, append(args, "-c", cfile, "-o", cfile+".o")...)

			cppfile := filepath.Join(dir, "freertos.cpp")
			cpp := strings.ReplaceAll(text, "_Static_assert", "static_assert")
			if err := os.WriteFile(cppfile, []byte(cpp), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(append([]string{"-std=c++17", "-Wall", "-Wextra", "-Werror"}, c.flags...), inc...)
			runTool(t, gxx, append(args, "-c", cppfile, "-o", cppfile+".o")...)
		})
	}
}
