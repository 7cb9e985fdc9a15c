// Package sdktest tests libmvnet, the host C SDK, from the outside: it
// builds the library with csdk/Makefile once per test binary (TestMain),
// compiles small C programs against it with the host's C compiler, runs
// them and checks their output, exit status and trace.
//
// Building the library takes a while (a c-archive and a c-shared link of
// the whole module); -short skips these tests, as does a host without cc or
// make.
package sdktest
