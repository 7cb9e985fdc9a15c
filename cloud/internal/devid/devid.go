// Package devid checks device IDs, shared by the cloud's packages.
package devid

import (
	"fmt"
	"strings"

	"github.com/mvnet/mvnet/abi"
)

// Len is the length of a device ID (abi.DeviceIDLen).
const Len = abi.DeviceIDLen

// Check reports why id is not a device ID ("UV" followed by 32 hex digits,
// either case), or nil.
func Check(id string) error {
	if len(id) != Len {
		return fmt.Errorf("device ID %q: want %d characters (UV + 32 hex digits), got %d", id, Len, len(id))
	}
	if id[:2] != "UV" {
		return fmt.Errorf("device ID %q: must start with UV", id)
	}
	for i := 2; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return fmt.Errorf("device ID %q: character %d (%q) is not a hex digit", id, i, c)
		}
	}
	return nil
}

// Canon is id with its hex digits in lower case, the form the cloud issues
// (kernel and REST API both generate lower-case IDs); Check accepts either
// case, so state keyed by device ID (the fault injector) is keyed by Canon,
// and an ID typed in upper case finds the same device. An id too short to
// be a device ID is returned as it is.
func Canon(id string) string {
	if len(id) < 2 {
		return id
	}
	for k := 2; k < len(id); k++ {
		if c := id[k]; c >= 'A' && c <= 'F' {
			return id[:2] + strings.ToLower(id[2:])
		}
	}
	return id
}
