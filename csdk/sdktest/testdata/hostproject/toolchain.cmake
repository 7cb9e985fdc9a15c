# The board build: arm-none-eabi-gcc for the STM32U585 (Cortex-M33) with
# newlib-nano. mvnet build replaces all of it for the host.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc CACHE FILEPATH "C compiler")
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc CACHE FILEPATH "ASM compiler")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_C_COMPILER_WORKS ON)
set(CMAKE_C_LINK_EXECUTABLE "<CMAKE_C_COMPILER> -Wl,-Map=<TARGET>.map <CMAKE_C_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
set(CMAKE_C_FLAGS "-mcpu=cortex-m33 -mthumb -std=gnu11 -g3 -DUSE_HAL_DRIVER -DSTM32U585xx \
  -DCMSIS_device_header=\\\"stm32u585xx.h\\\" -c -O0 -Wall -MMD -MP --specs=nano.specs \
  -mfpu=fpv5-sp-d16 -mfloat-abi=soft")
set(CMAKE_C_LINK_FLAGS "-mcpu=cortex-m33 --specs=nosys.specs -Wl,--gc-sections -static \
  -Wl,--start-group -lc -lm -Wl,--end-group -mfloat-abi=soft" CACHE INTERNAL "")
