// Package sdktest tests libmvnet, the host C SDK, from the outside: it
// builds the library with csdk/Makefile once per source state, compiles
// small C programs against it with the host's C compiler, runs them (in
// parallel) and checks their output, exit status and trace.
//
// Building the library takes a while (a c-archive and a c-shared link of
// the whole module), so TestMain keeps builds in a cache,
// os.UserCacheDir()/mvnet/libmvnet (or $MVNET_LIBCACHE), keyed by a hash of
// every input (internal/libcache, which mvnet build shares): a warm run only
// hashes the sources.
// -short skips these tests; a host without cc or make skips them too, or
// fails them under CI=true.
package sdktest
