# mvnet-host.cmake: builds a Microvisor project for the host, against
# libmvnet, with the project's own CMake files unchanged (docs/porting.md).
#
#   cmake -S PROJECT -B PROJECT/build-host \
#         -DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=<csdk>/cmake/mvnet-host.cmake \
#         -DMVNET_BUILD=<a libmvnet build: make -C csdk BUILD=DIR>
#   cmake --build PROJECT/build-host
#
# `mvnet build PROJECT` runs exactly this (building libmvnet first if its
# cache has no build of these sources). CMake (3.24 or newer) reads this file
# inside the project's first project() call, right after the toolchain file
# the project names (its arm-none-eabi toolchain.cmake, set in CMakeLists.txt
# before project(), so -DCMAKE_TOOLCHAIN_FILE cannot replace it) and before
# any language is enabled. From here it:
#
#  1. turns the cross build back into a host build: the host system, the
#     host compilers (CC/CXX, default cc/c++), the toolchain's flags without
#     their Cortex-M33 and newlib parts (-mcpu, -mthumb, -mfpu,
#     -mfloat-abi, --specs, -c, -MMD/-MP), its link flags and link/compile
#     rules dropped (the defaults apply), binutils tools set to the host's;
#  2. replaces the HAL submodule (add_subdirectory of a directory named like
#     Microvisor-HAL-STM32U5 / twilio-microvisor-hal-stm32u5, present or
#     not) by INTERFACE targets of the names projects link
#     (the directory's name, twilio-microvisor-hal-stm32u5,
#     twilio-microvisor-sdk) carrying libmvnet;
#  3. once the whole project is read (a deferred call), goes over every
#     target: drops the sources only the board builds (FreeRTOS-Kernel,
#     ST's cmsis_os/cmsis_os2.c, the HAL/CMSIS driver sources, startup
#     assembly, newlib's syscalls.c/sysmem.c retargets), linker scripts and
#     ARM/newlib options; puts csdk/include first on the include path (so
#     mvnet's cmsis_os2.h, FreeRTOS.h, stm32u5xx_hal.h … win over copies in
#     the project); links libmvnet (static), whose usage requirements also
#     force mvnet_newlib_compat.h into every C/C++ compilation; leaves custom
#     targets that build board artefacts (size/objcopy listings, the bundle)
#     out of `all`; makes the linker pull the application's interrupt
#     handlers and HAL hooks (the weak references in libmvnet) out of the
#     project's static libraries; and writes the executables' paths into
#     build-host/mvnet-executables.txt.
#
# Targets keep their names and include directories (FreeRTOS keeps Config/,
# so the application's FreeRTOSConfig.h is found), a library left with no
# source gets an empty one, and everything dropped is listed (STATUS).

cmake_minimum_required(VERSION 3.24)

if(NOT MVNET_BUILD)
  message(FATAL_ERROR "mvnet-host.cmake: set MVNET_BUILD to a libmvnet build directory "
    "(make -C csdk BUILD=DIR), or use `mvnet build`")
endif()
if(NOT EXISTS "${MVNET_BUILD}/cmake/mvnet/mvnetConfig.cmake")
  message(FATAL_ERROR "mvnet-host.cmake: ${MVNET_BUILD} holds no libmvnet build "
    "(no cmake/mvnet/mvnetConfig.cmake): run make -C csdk BUILD=${MVNET_BUILD}")
endif()

# 1. The host, not the board. The system was determined from the project's
# toolchain file before this file is read; CMakeSystem.cmake (which
# try_compile reads, and a re-run of cmake loads instead of the toolchain
# file) is rewritten to describe the host.
set(CMAKE_TOOLCHAIN_FILE "")
set(CMAKE_SYSTEM "${CMAKE_HOST_SYSTEM}")
set(CMAKE_SYSTEM_NAME "${CMAKE_HOST_SYSTEM_NAME}")
set(CMAKE_SYSTEM_VERSION "${CMAKE_HOST_SYSTEM_VERSION}")
set(CMAKE_SYSTEM_PROCESSOR "${CMAKE_HOST_SYSTEM_PROCESSOR}")
set(CMAKE_CROSSCOMPILING FALSE)
file(WRITE "${CMAKE_PLATFORM_INFO_DIR}/CMakeSystem.cmake"
  "# Written by mvnet-host.cmake: the host, whatever the project's toolchain file says.\n"
  "set(CMAKE_HOST_SYSTEM \"${CMAKE_HOST_SYSTEM}\")\n"
  "set(CMAKE_HOST_SYSTEM_NAME \"${CMAKE_HOST_SYSTEM_NAME}\")\n"
  "set(CMAKE_HOST_SYSTEM_VERSION \"${CMAKE_HOST_SYSTEM_VERSION}\")\n"
  "set(CMAKE_HOST_SYSTEM_PROCESSOR \"${CMAKE_HOST_SYSTEM_PROCESSOR}\")\n"
  "set(CMAKE_SYSTEM \"${CMAKE_HOST_SYSTEM}\")\n"
  "set(CMAKE_SYSTEM_NAME \"${CMAKE_HOST_SYSTEM_NAME}\")\n"
  "set(CMAKE_SYSTEM_VERSION \"${CMAKE_HOST_SYSTEM_VERSION}\")\n"
  "set(CMAKE_SYSTEM_PROCESSOR \"${CMAKE_HOST_SYSTEM_PROCESSOR}\")\n"
  "set(CMAKE_CROSSCOMPILING \"FALSE\")\n"
  "set(CMAKE_SYSTEM_LOADED 1)\n")

set(_mvnet_cc cc)
if(DEFINED ENV{CC} AND NOT "$ENV{CC}" STREQUAL "")
  set(_mvnet_cc "$ENV{CC}")
endif()
set(_mvnet_cxx c++)
if(DEFINED ENV{CXX} AND NOT "$ENV{CXX}" STREQUAL "")
  set(_mvnet_cxx "$ENV{CXX}")
endif()
set(CMAKE_C_COMPILER "${_mvnet_cc}" CACHE FILEPATH "C compiler (mvnet-host.cmake: the host's)" FORCE)
set(CMAKE_ASM_COMPILER "${_mvnet_cc}" CACHE FILEPATH "ASM compiler (mvnet-host.cmake: the host's)" FORCE)
set(CMAKE_CXX_COMPILER "${_mvnet_cxx}" CACHE FILEPATH "C++ compiler (mvnet-host.cmake: the host's)" FORCE)
foreach(_mvnet_tool SIZE OBJCOPY OBJDUMP)
  string(TOLOWER "${_mvnet_tool}" _mvnet_name)
  find_program(_mvnet_path "${_mvnet_name}")
  if(_mvnet_path)
    set(CMAKE_${_mvnet_tool} "${_mvnet_path}" CACHE FILEPATH "" FORCE)
  endif()
  unset(_mvnet_path CACHE)
endforeach()

# Options that only mean something to arm-none-eabi-gcc and newlib, as
# list items (target properties) ...
set(_mvnet_board_option
  "^(-mcpu=.*|-mtune=.*|-march=.*|-mthumb|-marm|-mfpu=.*|-mfloat-abi=.*|-mcmse|--?specs=.*|-nostartfiles|-nostdlib|-nodefaultlibs|-static|-T.*|-Wl,-T.*|-Wl,--script=.*|-Wl,--print-memory-usage|-lnosys|nosys|-lrdimon|rdimon|-lc_nano|c_nano|-lg_nano|g_nano|-u|_printf_float|_scanf_float|-Wl,-u,.*)$")
# ... and as words of a flags string (CMAKE_C_FLAGS …), with -c, -MMD and
# -MP, which the toolchain files put there but CMake's host rules supply or
# would pass to the linker.
set(_mvnet_board_word
  "(^|[ \t])(-mcpu=[^ \t]*|-mtune=[^ \t]*|-march=[^ \t]*|-mthumb|-marm|-mfpu=[^ \t]*|-mfloat-abi=[^ \t]*|-mcmse|--?specs=[^ \t]*|-nostartfiles|-nostdlib|-nodefaultlibs|-static|-T[^ \t]*|-Wl,-T[^ \t]*|-Wl,--script=[^ \t]*|-Wl,--print-memory-usage|-c|-MMD|-MP|-u[ \t]+_printf_float|-u[ \t]+_scanf_float)([ \t]|$)")

# _mvnet_strip_words(VAR): VAR without the board-only words.
function(_mvnet_strip_words var)
  set(s " ${${var}} ")
  set(prev "")
  while(NOT s STREQUAL prev)
    set(prev "${s}")
    string(REGEX REPLACE "${_mvnet_board_word}" "\\1" s "${s}")
  endwhile()
  string(STRIP "${s}" s)
  set(${var} "${s}" PARENT_SCOPE)
endfunction()

foreach(_mvnet_lang C CXX ASM)
  _mvnet_strip_words(CMAKE_${_mvnet_lang}_FLAGS)
  set(CMAKE_${_mvnet_lang}_LINK_FLAGS "" CACHE INTERNAL "")
  unset(CMAKE_${_mvnet_lang}_LINK_FLAGS)
  unset(CMAKE_${_mvnet_lang}_LINK_EXECUTABLE)
  unset(CMAKE_${_mvnet_lang}_COMPILE_OBJECT)
  unset(CMAKE_${_mvnet_lang}_COMPILER_WORKS)
  unset(CMAKE_${_mvnet_lang}_OUTPUT_EXTENSION)
endforeach()
unset(CMAKE_INCLUDE_FLAG_ASM)
_mvnet_strip_words(CMAKE_EXE_LINKER_FLAGS)
foreach(_mvnet_mode PROGRAM LIBRARY INCLUDE PACKAGE)
  unset(CMAKE_FIND_ROOT_PATH_MODE_${_mvnet_mode})
endforeach()

# libmvnet, for every target: an INTERFACE target defined now (so the HAL
# stand-ins below can link it before the project's languages are enabled)
# and given libmvnet's CMake package once they are.
add_library(mvnet_host INTERFACE)

# 2. The HAL submodule becomes targets of the names projects link.
function(add_subdirectory dir)
  get_filename_component(name "${dir}" NAME)
  if(NOT name MATCHES "[Hh][Aa][Ll]-[Ss][Tt][Mm]32[Uu]5")
    _add_subdirectory(${ARGV})
    return()
  endif()
  set(names "${name}" twilio-microvisor-hal-stm32u5 twilio-microvisor-sdk)
  list(REMOVE_DUPLICATES names)
  foreach(t IN LISTS names)
    if(NOT TARGET "${t}")
      add_library("${t}" INTERFACE)
      target_link_libraries("${t}" INTERFACE mvnet_host)
    endif()
  endforeach()
  list(JOIN names ", " names)
  message(STATUS "mvnet: ${dir} (the Microvisor HAL) is libmvnet on the host: targets ${names}")
endfunction()

# 3. Every target, once the project is read.
# Sources only the board builds: its RTOS kernel and ST's CMSIS-RTOS
# wrappers (libmvnet serves both APIs), ST's HAL and CMSIS device sources,
# startup assembly, newlib's retargets.
set(_mvnet_board_source
  "(^|/)(FreeRTOS-Kernel|FreeRTOS/Source|STM32U5xx_HAL_Driver|CMSIS)/|(^|/)(cmsis_os2?|syscalls|sysmem|mv_prescalers)\\.c$|\\.(s|S|asm)$")

function(_mvnet_dir_targets dir out)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _mvnet_dir_targets("${sub}" more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# _mvnet_filter(TARGET PROPERTY REGEX): drops the property's items matching REGEX.
function(_mvnet_filter target prop regex)
  get_target_property(items "${target}" "${prop}")
  if(NOT items)
    return()
  endif()
  set(kept "")
  set(dropped "")
  foreach(item IN LISTS items)
    if(item MATCHES "${regex}")
      list(APPEND dropped "${item}")
    else()
      list(APPEND kept "${item}")
    endif()
  endforeach()
  if(dropped)
    set_property(TARGET "${target}" PROPERTY "${prop}" "${kept}")
    list(JOIN dropped " " dropped)
    message(STATUS "mvnet: ${target}: ${prop} without ${dropped}")
  endif()
endfunction()

# _mvnet_whole(TARGET): the application's functions libmvnet calls if they
# exist (weak references: interrupt handlers by vector name, HAL_MspInit,
# HAL_UART_MspInit, the EXTI callbacks …) are linked from the project's
# static libraries, as the device's vector table and ST's HAL pull them with
# strong references there: the executable links each of the project's
# static libraries it uses whole (a weak reference extracts no archive
# member, so ST_Code's stm32u5xx_hal_msp.c would silently be left out).
function(_mvnet_whole target)
  foreach(lib IN LISTS _mvnet_static_libs)
    set_property(TARGET "${target}" PROPERTY LINK_LIBRARY_OVERRIDE_${lib} WHOLE_ARCHIVE)
  endforeach()
endfunction()

function(_mvnet_host_targets)
  include("${MVNET_BUILD}/cmake/mvnet/mvnetConfig.cmake")
  foreach(t mvnet::mvnet mvnet::mvnet_static Threads::Threads)
    if(TARGET ${t})
      set_property(TARGET ${t} PROPERTY IMPORTED_GLOBAL TRUE)
    endif()
  endforeach()
  # Not a system include directory: CMake would then pass csdk/include as
  # -isystem after every -I, whatever the targets' own order says.
  foreach(t mvnet::mvnet mvnet::mvnet_static)
    if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.25)
      set_property(TARGET ${t} PROPERTY SYSTEM FALSE)
    else()
      set_property(TARGET ${t} PROPERTY IMPORTED_NO_SYSTEM TRUE)
    endif()
  endforeach()
  target_link_libraries(mvnet_host INTERFACE mvnet::mvnet_static m)
  get_target_property(include mvnet::mvnet_static INTERFACE_INCLUDE_DIRECTORIES)

  set(empty "${CMAKE_BINARY_DIR}/mvnet-host/empty.c")
  file(WRITE "${empty}" "/* mvnet-host.cmake: a library whose sources only the board builds. */\n")
  set(executables "")
  _mvnet_dir_targets("${CMAKE_SOURCE_DIR}" targets)
  set(_mvnet_static_libs "")
  foreach(t IN LISTS targets)
    get_target_property(type "${t}" TYPE)
    if(type STREQUAL "STATIC_LIBRARY")
      list(APPEND _mvnet_static_libs "${t}")
    endif()
  endforeach()
  foreach(t IN LISTS targets)
    get_target_property(type "${t}" TYPE)
    get_target_property(imported "${t}" IMPORTED)
    if(imported OR type STREQUAL "INTERFACE_LIBRARY" OR t STREQUAL "mvnet_host")
      continue()
    endif()
    if(type STREQUAL "UTILITY")
      get_target_property(excluded "${t}" EXCLUDE_FROM_ALL)
      if(NOT excluded)
        set_property(TARGET "${t}" PROPERTY EXCLUDE_FROM_ALL TRUE)
        message(STATUS "mvnet: custom target ${t} (board artefacts) is left out of the host build")
      endif()
      continue()
    endif()
    _mvnet_filter("${t}" SOURCES "${_mvnet_board_source}")
    get_target_property(sources "${t}" SOURCES)
    if(NOT sources)
      set_property(TARGET "${t}" PROPERTY SOURCES "${empty}")
    endif()
    foreach(prop COMPILE_OPTIONS INTERFACE_COMPILE_OPTIONS LINK_OPTIONS INTERFACE_LINK_OPTIONS
        LINK_LIBRARIES INTERFACE_LINK_LIBRARIES STATIC_LIBRARY_OPTIONS)
      _mvnet_filter("${t}" ${prop} "${_mvnet_board_option}")
    endforeach()
    foreach(prop LINK_FLAGS COMPILE_FLAGS)
      get_target_property(flags "${t}" ${prop})
      if(flags)
        _mvnet_strip_words(flags)
        set_property(TARGET "${t}" PROPERTY ${prop} "${flags}")
      endif()
    endforeach()
    _mvnet_filter("${t}" LINK_DEPENDS "\\.(ld|lds)$")
    get_target_property(dirs "${t}" INCLUDE_DIRECTORIES)
    if(NOT dirs)
      set(dirs "")
    endif()
    set_property(TARGET "${t}" PROPERTY INCLUDE_DIRECTORIES ${include} ${dirs})
    set_property(TARGET "${t}" APPEND PROPERTY LINK_LIBRARIES mvnet_host)
    if(type STREQUAL "EXECUTABLE")
      _mvnet_whole("${t}")
      string(APPEND executables "$<TARGET_FILE:${t}>\n")
    endif()
  endforeach()
  file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/mvnet-executables.txt" CONTENT "${executables}")
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _mvnet_host_targets)
