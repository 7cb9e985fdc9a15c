// Package test holds mvnet's end-to-end tests and benchmarks: an emulated
// device, the kernel, the link, the embedded cloud and a real local HTTPS
// server, exercised together through the Go device API.
package test
