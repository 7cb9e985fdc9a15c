//go:build cgo

package hostabi

import (
	"fmt"
	"sync"

	"github.com/mvnet/mvnet/abi"
)

// Name is the name the host ABI is built with.
const Name = "host"

var host = sync.OnceValues(New)

// ABI returns the host ABI, built once from cgo's view of the header. It
// panics if the header and the abi tables disagree, which the package's
// tests rule out for a build that passes them.
func ABI() *abi.ABI {
	a, err := host()
	if err != nil {
		panic("hostabi: " + err.Error())
	}
	return a
}

// New builds the host ABI from the sizes and offsets cgo reports. Every
// handle type must be pointer-sized.
func New() (*abi.ABI, error) {
	for name, n := range cgoHandleSizes {
		if n != cgoPointerSize {
			return nil, fmt.Errorf("hostabi: sizeof %s = %d, want %d like the other handles", name, n, cgoPointerSize)
		}
	}
	return abi.NewFromOffsets(Name, cgoPointerSize, cgoSizes, cgoOffsets)
}
