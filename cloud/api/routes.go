package api

import (
	"net/http"
	"slices"
	"strings"
)

// args are what a route takes from the path (and the authenticated account).
type args struct {
	account string // the account SID the request authenticated as
	device  string // {DeviceSid} or {Sid} as given: a SID or a UniqueName; "" for account scope
	key     string // {Key}
	secret  bool   // Secrets rather than Configs
	fault   string // {FaultSid}
}

type handlerFunc func(h *handler, w http.ResponseWriter, r *http.Request, a args) error

type methods map[string]handlerFunc

type matched struct {
	methods methods
	args    args
}

func (m matched) allow() string {
	var ms []string
	for k := range m.methods {
		ms = append(ms, k)
	}
	slices.Sort(ms)
	return strings.Join(ms, ", ")
}

var (
	collectionMethods = methods{http.MethodGet: listItems, http.MethodPost: createItem}
	itemMethods       = methods{http.MethodGet: getItem, http.MethodPost: updateItem, http.MethodDelete: deleteItem}
	devicesMethods    = methods{http.MethodGet: listDevices, http.MethodPost: createDevice}
	deviceMethods     = methods{http.MethodGet: getDevice, http.MethodPost: updateDevice, http.MethodDelete: deleteDevice}
	streamMethods     = methods{http.MethodGet: streamLogs}
	tokenMethods      = methods{http.MethodPost: rotateToken}
	faultsMethods     = methods{http.MethodGet: listFaults, http.MethodPost: applyFault, http.MethodDelete: clearFaults}
	faultMethods      = methods{http.MethodGet: getFault, http.MethodDelete: clearFault}
)

// route matches unescaped path segments:
//
//	/v1/Configs                          /v1/Secrets
//	/v1/Configs/{Key}                    /v1/Secrets/{Key}
//	/v1/Devices
//	/v1/Devices/{Sid}
//	/v1/Devices/{Sid}/Configs            /v1/Devices/{Sid}/Secrets
//	/v1/Devices/{Sid}/Configs/{Key}      /v1/Devices/{Sid}/Secrets/{Key}
//	/v1/Devices/{Sid}/Logs/Stream
//	/v1/Devices/{Sid}/Faults
//	/v1/Devices/{Sid}/Faults/{FaultSid}
//	/v1/AuthToken
func route(segs []string) (matched, bool) {
	if len(segs) < 2 || segs[0] != "v1" {
		return matched{}, false
	}
	rest := segs[1:]
	if len(rest) == 1 && rest[0] == "AuthToken" {
		return matched{tokenMethods, args{}}, true
	}
	var a args
	if rest[0] == "Devices" {
		if len(rest) == 1 {
			return matched{devicesMethods, a}, true
		}
		if rest[1] == "" { // "/v1/Devices/" or "/v1/Devices//Configs": no device
			return matched{}, false
		}
		if len(rest) == 2 {
			a.device = rest[1]
			return matched{deviceMethods, a}, true
		}
		a.device = rest[1]
		rest = rest[2:]
		if len(rest) == 2 && rest[0] == "Logs" && rest[1] == "Stream" {
			return matched{streamMethods, a}, true
		}
		if rest[0] == "Faults" {
			switch len(rest) {
			case 1:
				return matched{faultsMethods, a}, true
			case 2:
				a.fault = rest[1]
				return matched{faultMethods, a}, true
			}
			return matched{}, false
		}
	}
	switch rest[0] {
	case "Configs":
	case "Secrets":
		a.secret = true
	default:
		return matched{}, false
	}
	switch len(rest) {
	case 1:
		return matched{collectionMethods, a}, true
	case 2:
		a.key = rest[1]
		return matched{itemMethods, a}, true
	}
	return matched{}, false
}
