package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/internal/hostbuild"
)

func newBuildCmd() *cobra.Command {
	var o hostbuild.Options
	cmd := &cobra.Command{
		Use:   "build [flags] [PROJECT_DIR] [-- CMAKE_ARGS...]",
		Short: "Build a Microvisor project for the host, with its own CMake files unchanged",
		Long: `Build a Microvisor application project — laid out like the public samples:
a CMakeLists.txt that sets its arm-none-eabi toolchain.cmake, adds the HAL
submodule, builds FreeRTOS and ST's CMSIS-RTOS wrapper, and the application —
for this PC, against mvnet's C SDK (libmvnet), without changing a file of it.
PROJECT_DIR (default .) is the directory of the top CMakeLists.txt.

mvnet build:
  1. finds the C SDK: --sdk DIR, else $MVNET_SDK, else the checkout of
     github.com/mvnet/mvnet holding the working directory or the project,
     else the source tree this mvnet was built from (if it is still there),
     else the module cache's copy of this mvnet's version;
  2. builds libmvnet for the SDK's sources, once: builds are cached by source
     state in $MVNET_LIBCACHE (default: the user cache directory, mvnet/libmvnet);
     the first build takes most of a minute;
  3. runs cmake -S PROJECT_DIR -B PROJECT_DIR/build-host
       -DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=<sdk>/cmake/mvnet-host.cmake
       -DMVNET_BUILD=<libmvnet build> [CMAKE_ARGS]
     and cmake --build. mvnet-host.cmake switches the project's cross build
     to the host compiler, stands libmvnet in for the HAL submodule (present
     or not), FreeRTOS and ST's cmsis_os2.c, drops startup assembly, newlib
     retargets and linker scripts, and leaves board artefacts (objcopy,
     bundles) out; what it drops is listed in the output.
  4. prints the executables it built, one a line, on stdout.

Run the result like any host-built application: ./build-host/app/APP, or
mvnet run -- ./build-host/app/APP for a transcript. CMake 3.24 or newer, a C
compiler, make, and Go (with cgo) for libmvnet are needed. docs/porting.md
has the worked example and what, if anything, a project must still change.`,
		Example: `  mvnet build examples/project
  mvnet build ~/src/Microvisor-Demo-MQTT -- -DAPPLICATION=temperature
  go run ./cmd/mvnet build --build-dir /tmp/b examples/project
  MVNET_BOARD=examples/project/board.json mvnet run -- examples/project/build-host/app/mv-sensor-demo`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := len(args)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				n = dash
			}
			if n > 1 {
				return fmt.Errorf("one project directory, got %d: %v (CMake arguments go after --)", n, args[:n])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 {
				dash = len(args)
			}
			if dash == 1 {
				o.Project = args[0]
			}
			o.CMakeArgs = args[dash:]
			o.Progress = cmd.ErrOrStderr()
			res, err := hostbuild.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			for _, exe := range res.Executables {
				fmt.Fprintln(cmd.OutOrStdout(), exe)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.SDK, "sdk", "", "mvnet's C SDK: a checkout of github.com/mvnet/mvnet or its csdk directory (default: see above)")
	f.StringVar(&o.BuildDir, "build-dir", "", "CMake build directory (default PROJECT_DIR/build-host)")
	f.IntVarP(&o.Jobs, "jobs", "j", 0, "parallel build jobs (default: the number of CPUs)")
	return cmd
}
