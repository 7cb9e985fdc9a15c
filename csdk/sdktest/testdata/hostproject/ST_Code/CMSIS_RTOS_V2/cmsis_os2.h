/* ST's copy: libmvnet's cmsis_os2.h must be found first. */
#error "the project's cmsis_os2.h was found before csdk/include"
