package sdktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// The CMake shapes of the public Microvisor samples beyond the two the
// sample project covers (a CMSIS-RTOS2 project with the HAL as
// twilio-microvisor-hal-stm32u5: TestMvnetBuildSampleShapedProject; the
// toolchain file inside the HAL submodule:
// TestMvnetBuildToolchainInMissingSubmodule). Each fixture is written here
// in the shape of a sample's build files, with application sources of our
// own; the HAL and FreeRTOS-Kernel submodules are absent, as on a fresh
// clone, and ST_Code's newlib retargets #error if compiled.

// shapeCommon is what every shape holds besides its own files.
var shapeCommon = map[string]string{
	"ST_Code/Core/Src/syscalls.c": "#error \"mvnet build must leave ST_Code/Core/Src/syscalls.c out of the host build\"\n",
	"ST_Code/Core/Src/sysmem.c":   "#error \"mvnet build must leave ST_Code/Core/Src/sysmem.c out of the host build\"\n",
	"ST_Code/Core/Src/stm32u5xx_hal_msp.c": `#include "stm32u5xx_hal.h"
volatile int msp_ran;
void HAL_MspInit(void) { msp_ran = 1; }
`,
	"ST_Code/Core/Inc/msp.h": "extern volatile int msp_ran;\n",
}

// shapeFreeRTOSLib is the FreeRTOS library block the FreeRTOS samples
// carry (the kernel sources of the absent submodule).
const shapeFreeRTOSLib = `
add_library(FreeRTOS STATIC
    FreeRTOS-Kernel/event_groups.c
    FreeRTOS-Kernel/list.c
    FreeRTOS-Kernel/queue.c
    FreeRTOS-Kernel/tasks.c
    FreeRTOS-Kernel/timers.c
    FreeRTOS-Kernel/portable/GCC/ARM_CM33_NTZ/non_secure/port.c
    FreeRTOS-Kernel/portable/GCC/ARM_CM33_NTZ/non_secure/portasm.c
    FreeRTOS-Kernel/portable/MemMang/heap_4.c
)
target_include_directories(FreeRTOS PUBLIC
    Config/
    FreeRTOS-Kernel/include
    FreeRTOS-Kernel/portable/GCC/ARM_CM33_NTZ/non_secure
)
`

// shapeHALFiles is the INCLUDED_HAL_FILES list every sample sets before
// adding the HAL.
const shapeHALFiles = `
set(INCLUDED_HAL_FILES
    Drivers/STM32U5xx_HAL_Driver/Src/stm32u5xx_hal.c
    Drivers/STM32U5xx_HAL_Driver/Src/stm32u5xx_hal_gpio.c
    Drivers/CMSIS/Device/ST/STM32U5xx/Source/Templates/gcc/startup_stm32u585xx.s
)
`

var shapes = []struct {
	name  string            // the samples with this shape
	exe   string            // the executable, relative to the build directory
	files map[string]string // the project's own files
	want  string            // what the application prints
}{{
	// Native FreeRTOS (Microvisor-Demo-Native-Freertos): the HAL as
	// Microvisor-HAL-STM32U5, no CMSIS-RTOS2 wrapper, the application in
	// Demo/ with a version header configure_file() generates, xTaskCreate
	// and vTaskStartScheduler, a custom target that moves the ELF.
	name: "native FreeRTOS",
	exe:  "Demo/native_shape",
	files: map[string]string{
		"CMakeLists.txt": `cmake_minimum_required(VERSION 3.14)
set(PROJECT_NAME "native_shape")
add_compile_definitions(LOG_DEBUG_MESSAGES=true)
set(CMAKE_TOOLCHAIN_FILE "${CMAKE_SOURCE_DIR}/toolchain.cmake")
project(${PROJECT_NAME} C ASM)
` + shapeHALFiles + `
add_subdirectory(Microvisor-HAL-STM32U5)
add_library(ST_Code STATIC
    ST_Code/Core/Src/syscalls.c
    ST_Code/Core/Src/sysmem.c
    ST_Code/Core/Src/stm32u5xx_hal_msp.c
)
target_include_directories(ST_Code PUBLIC ST_Code/Core/Inc)
target_link_libraries(ST_Code LINK_PUBLIC Microvisor-HAL-STM32U5 FreeRTOS)
` + shapeFreeRTOSLib + `
add_subdirectory(Demo)
`,
		"Demo/CMakeLists.txt": `cmake_minimum_required(VERSION 3.14)
set(VERSION_NUMBER "4.5.6")
message("Building the native shape ${VERSION_NUMBER}")
include_directories(${CMAKE_CURRENT_BINARY_DIR})
configure_file(app_version.in app_version.h @ONLY)
add_executable(${PROJECT_NAME} main.c)
target_link_libraries(${PROJECT_NAME} LINK_PUBLIC ST_Code Microvisor-HAL-STM32U5 FreeRTOS)
add_custom_command(OUTPUT EXTRA_FILES DEPENDS ${PROJECT_NAME}
    COMMAND mv "${PROJECT_NAME}" "${PROJECT_NAME}.elf"
    COMMAND ${CMAKE_OBJDUMP} -h -S "${PROJECT_NAME}.elf" > "${PROJECT_NAME}.list"
    COMMAND ${CMAKE_OBJCOPY} -O binary "${PROJECT_NAME}.elf" "${PROJECT_NAME}.bin"
)
add_custom_target(extras ALL DEPENDS EXTRA_FILES)
`,
		"Demo/app_version.in": "#define APP_VERSION \"@VERSION_NUMBER@\"\n",
		"Demo/main.c": `#include <stdio.h>
#include "FreeRTOS.h"
#include "task.h"
#include "stm32u5xx_hal.h"
#include "mv_syscalls.h"
#include "app_version.h"
#include "msp.h"

static void worker(void *arg) {
    (void)arg;
    vTaskDelay(pdMS_TO_TICKS(10));
    printf("native shape %s: task ran, HAL_MspInit %s\n", APP_VERSION, msp_ran ? "ran" : "did not run");
    fflush(stdout);
    mvTestingComplete(0);
}

int main(void) {
    HAL_Init();
    TaskHandle_t h = NULL;
    if (xTaskCreate(worker, "worker", configMINIMAL_STACK_SIZE * 4, NULL, tskIDLE_PRIORITY + 1, &h) != pdPASS) {
        return 1;
    }
    vTaskStartScheduler();
    return 2;
}
`,
	},
	want: "native shape 4.5.6: task ran, HAL_MspInit ran",
}, {
	// C++ without an RTOS (Microvisor-Demo-Clock): project(… C CXX ASM),
	// an application library in a directory of its own (there a JSON
	// library checked out as a submodule), C++ sources beside C ones.
	name: "C++, no RTOS",
	exe:  "app/cpp_shape",
	files: map[string]string{
		"CMakeLists.txt": `cmake_minimum_required(VERSION 3.14)
set(PROJECT_NAME "cpp_shape")
set(CMAKE_EXPORT_COMPILE_COMMANDS 1)
set(CMAKE_TOOLCHAIN_FILE "${CMAKE_SOURCE_DIR}/toolchain.cmake")
project(${PROJECT_NAME} C CXX ASM)
` + shapeHALFiles + `
add_subdirectory(Microvisor-HAL-STM32U5)
add_library(ST_Code STATIC
    ST_Code/Core/Src/syscalls.c
    ST_Code/Core/Src/sysmem.c
    ST_Code/Core/Src/stm32u5xx_hal_msp.c
)
target_include_directories(ST_Code PUBLIC ST_Code/Core/Inc)
target_link_libraries(ST_Code LINK_PUBLIC Microvisor-HAL-STM32U5)
add_subdirectory(tinyfmt)
add_subdirectory(app)
`,
		"tinyfmt/CMakeLists.txt": `add_library(tinyfmt INTERFACE)
target_include_directories(tinyfmt INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
`,
		"tinyfmt/include/tinyfmt.hpp": `#pragma once
namespace tinyfmt {
inline int twice(int v) { return 2 * v; }
}
`,
		"app/CMakeLists.txt": `add_executable(${PROJECT_NAME} main.cpp clock.c)
target_link_libraries(${PROJECT_NAME} LINK_PUBLIC ST_Code Microvisor-HAL-STM32U5 tinyfmt)
add_custom_command(OUTPUT EXTRA_FILES DEPENDS ${PROJECT_NAME}
    COMMAND mv "${PROJECT_NAME}" "${PROJECT_NAME}.elf"
    COMMAND ${CMAKE_OBJCOPY} --output-target ihex "${PROJECT_NAME}.elf" "${PROJECT_NAME}.hex"
)
add_custom_target(extras ALL DEPENDS EXTRA_FILES)
`,
		"app/clock.c": `#include "mv_syscalls.h"
#include "clock.h"
uint32_t clock_hz(void) {
    uint32_t hz = 0;
    return mvGetHClk(&hz) == MV_STATUS_OKAY ? hz : 0;
}
`,
		"app/clock.h": `#ifndef CLOCK_H
#define CLOCK_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
uint32_t clock_hz(void);
#ifdef __cplusplus
}
#endif
#endif
`,
		"app/main.cpp": `#include <cstdio>
#include "stm32u5xx_hal.h"
#include "mv_syscalls.h"
#include "tinyfmt.hpp"
#include "clock.h"
extern "C" {
#include "msp.h"
}

class Counter {
public:
    explicit Counter(int start) : value(start) {}
    int next() { return value = tinyfmt::twice(value); }
private:
    int value;
};

int main() {
    HAL_Init();
    Counter c(21);
    std::printf("C++ shape: %d, clock %s, HAL_MspInit %s\n", c.next(), clock_hz() > 0 ? "read" : "not read",
                msp_ran ? "ran" : "did not run");
    std::fflush(stdout);
    mvTestingComplete(0);
    return 0;
}
`,
	},
	want: "C++ shape: 42, clock read, HAL_MspInit ran",
}, {
	// twilio-microvisor-freertos: the application directory in a variable
	// (an absolute add_subdirectory), include_directories with the HAL's
	// _INCLUDE_DIRS variable, Src/ and Inc/ below the application
	// directory, ST's cmsis_os2.c listed (absent from the tree), a custom
	// command that runs a bundler script and removes a file.
	name: "CMSIS-RTOS2, application directory in a variable",
	exe:  "Demo/gpio_shape",
	files: map[string]string{
		"CMakeLists.txt": `cmake_minimum_required(VERSION 3.12)
set(PROJECT_NAME "gpio_shape")
set(CMAKE_TOOLCHAIN_FILE "${CMAKE_SOURCE_DIR}/toolchain.cmake")
set(APP_SRC_DIRECTORY "${CMAKE_SOURCE_DIR}/Demo")
project(${PROJECT_NAME} C ASM)
include_directories(include ${twilio-microvisor-hal-stm32u5_INCLUDE_DIRS})
` + shapeHALFiles + `
add_subdirectory(twilio-microvisor-hal-stm32u5)
add_library(ST_Code STATIC
  ST_Code/Core/Src/syscalls.c ST_Code/Core/Src/sysmem.c
  ST_Code/Core/Src/stm32u5xx_hal_msp.c
  ST_Code/CMSIS_RTOS_V2/cmsis_os2.c
)
target_include_directories(ST_Code PUBLIC ST_Code/CMSIS_RTOS_V2 ST_Code/Core/Inc)
target_link_libraries(ST_Code LINK_PUBLIC twilio-microvisor-hal-stm32u5 FreeRTOS)
` + shapeFreeRTOSLib + `
add_subdirectory(${APP_SRC_DIRECTORY})
`,
		"Demo/CMakeLists.txt": `cmake_minimum_required(VERSION 3.12)
add_executable(${PROJECT_NAME} Src/main.c)
target_include_directories(${PROJECT_NAME} PUBLIC Inc/)
target_link_libraries(${PROJECT_NAME} LINK_PUBLIC ST_Code twilio-microvisor-hal-stm32u5 FreeRTOS)
add_custom_command(OUTPUT EXTRAS
  DEPENDS "${PROJECT_NAME}"
  COMMAND cp "${PROJECT_NAME}" "${PROJECT_NAME}.elf"
  COMMAND python3 ../../twilio-microvisor-tools/bundler-py/bundler.py "${PROJECT_NAME}.elf" "${PROJECT_NAME}.zip"
  COMMAND rm -f ../../null.d
)
add_custom_target(extras ALL DEPENDS EXTRAS)
`,
		"Demo/Inc/main.h": `#ifndef MAIN_H
#define MAIN_H
#include <stdio.h>
#include "stm32u5xx_hal.h"
#include "cmsis_os.h"
#include "mv_syscalls.h"
#include "msp.h"
#define LED_PIN GPIO_PIN_5
#endif
`,
		"Demo/Src/main.c": `#include "main.h"

static void blink(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) {
        HAL_GPIO_TogglePin(GPIOA, LED_PIN);
        osDelay(5);
    }
    printf("CMSIS-RTOS2 shape: toggled 3 times, HAL_MspInit %s\n", msp_ran ? "ran" : "did not run");
    fflush(stdout);
    mvTestingComplete(0);
}

int main(void) {
    HAL_Init();
    __HAL_RCC_GPIOA_CLK_ENABLE()
    GPIO_InitTypeDef gpio = {0};
    gpio.Pin = LED_PIN;
    gpio.Mode = GPIO_MODE_OUTPUT_PP;
    HAL_GPIO_Init(GPIOA, &gpio);
    osKernelInitialize();
    osThreadAttr_t attr = {.name = "blink", .stack_size = configMINIMAL_STACK_SIZE * 4};
    osThreadNew(blink, NULL, &attr);
    osKernelStart();
    for (;;) {
    }
}
`,
	},
	want: "CMSIS-RTOS2 shape: toggled 3 times, HAL_MspInit ran",
}}

// TestMvnetBuildSampleShapes: mvnet build builds each shape with its CMake
// files as written, and the application runs.
func TestMvnetBuildSampleShapes(t *testing.T) {
	t.Parallel()
	needLib(t)
	tool.Require(t, "cmake")
	sample, err := filepath.Abs(filepath.Join("..", "..", "examples", "project"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "shape")
			// The toolchain file and the configuration (FreeRTOSConfig.h,
			// stm32u5xx_hal_conf.h) are the sample project's.
			copyTree(t, filepath.Join(sample, "Config"), filepath.Join(dir, "Config"))
			b, err := os.ReadFile(filepath.Join(sample, "toolchain.cmake"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "toolchain.cmake"), string(b))
			for _, files := range []map[string]string{shapeCommon, s.files} {
				for name, text := range files {
					writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), text)
				}
			}
			exes, progress := mvnetBuild(t, dir)
			want := filepath.Join(dir, "build-host", filepath.FromSlash(s.exe))
			if len(exes) != 1 || exes[0] != want {
				t.Fatalf("mvnet build printed %q, want [%s]\n%s", exes, want, progress)
			}
			if !strings.Contains(progress, "left out") {
				t.Errorf("mvnet build did not say what it left out of the host build:\n%s", progress)
			}
			if r := run(t, want, nil, 90*time.Second); r.code != 0 || !strings.Contains(r.stdout, s.want) {
				t.Fatalf("%s: %v", s.exe, r)
			}
		})
	}
}
