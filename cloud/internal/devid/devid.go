// Package devid checks device IDs, shared by the cloud's packages.
package devid

import (
	"fmt"

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
