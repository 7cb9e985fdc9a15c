package abi

// This file lists every function Microvisor's STM32U585 header declares:
// the network calls spec/abi.md specifies and the other calls of the same
// header (clocks, LED, testing, power, restart, peripherals, fast
// interrupts, system notifications, external flash, Wi-Fi). Signatures
// and return statuses are interface facts; the descriptions are ours. The
// C header's function declarations are rendered from this table.

// CallFamily groups related calls.
type CallFamily string

// The families. Network-related families come first.
const (
	FamilyTime          CallFamily = "time"
	FamilyIdentity      CallFamily = "identity"
	FamilyNotifications CallFamily = "notifications"
	FamilyNetwork       CallFamily = "network"
	FamilyChannels      CallFamily = "channels"
	FamilyHTTP          CallFamily = "http"
	FamilyLogging       CallFamily = "logging"
	FamilyConfig        CallFamily = "config"
	FamilyMQTT          CallFamily = "mqtt"

	FamilySystem              CallFamily = "system"
	FamilyClocks              CallFamily = "clocks"
	FamilyPeripherals         CallFamily = "peripherals"
	FamilyDebug               CallFamily = "debug"
	FamilyFastInterrupts      CallFamily = "fast interrupts"
	FamilyTesting             CallFamily = "testing"
	FamilyPower               CallFamily = "power"
	FamilyLED                 CallFamily = "led"
	FamilySystemNotifications CallFamily = "system notifications"
	FamilyRestart             CallFamily = "restart"
	FamilyExternalFlash       CallFamily = "external flash"
	FamilyWifi                CallFamily = "wifi"
)

// Param is one parameter of a call.
type Param struct {
	CType string // full C type, e.g. "const struct MvHttpRequest *", "MvChannelHandle"
	Name  string
}

// Call is one function of the header. Every call returns enum MvStatus.
type Call struct {
	Name   string
	Return string // C return type: "enum MvStatus" for every call
	Params []Param
	Family CallFamily
	// Network is true for the calls of mvnet's networking system, those
	// spec/abi.md specifies ("Calls and the statuses each may return"); the
	// rest are the header's other calls, which the C SDK answers plausibly.
	Network bool
	// Deprecated marks the byte-stream calls of OPAQUEBYTES channels.
	Deprecated bool
	// Statuses are the failures the call may return besides MV_STATUS_OKAY,
	// in the order the checks are made (spec/abi.md; for the other calls,
	// the published header). kernel's TestStatusOrder* check the order
	// against the handlers. Where spec/abi.md lists RESPONSENOTPRESENT
	// before CHANNELCLOSED for a read call, the order here is CHANNELCLOSED
	// first, as spec/abi.md lists them for mvReadConfigFetchResponseData: a
	// response received stays readable after a disconnection, so the
	// channel is closed for the read calls only when no response came, and
	// checked the other way round CHANNELCLOSED could never be returned.
	Statuses []Status
	Doc      string // one or two sentences, our own words
}

// Calls returns every function of the header in header order. The result
// is a copy.
func Calls() []Call {
	out := make([]Call, len(callTable))
	for i, c := range callTable {
		c.Params = append([]Param(nil), c.Params...)
		c.Statuses = append([]Status(nil), c.Statuses...)
		out[i] = c
	}
	return out
}

// LookupCall finds a call by name.
func LookupCall(name string) (Call, bool) {
	for _, c := range callTable {
		if c.Name == name {
			c.Params = append([]Param(nil), c.Params...)
			c.Statuses = append([]Status(nil), c.Statuses...)
			return c, true
		}
	}
	return Call{}, false
}

// p builds a parameter.
func p(ctype, name string) Param { return Param{CType: ctype, Name: name} }

// call builds a row: status returned, family, doc, parameters.
func call(name string, fam CallFamily, net bool, doc string, params []Param, statuses ...Status) Call {
	return Call{Name: name, Return: "enum MvStatus", Params: params, Family: fam, Network: net, Statuses: statuses, Doc: doc}
}

func ps(params ...Param) []Param { return params }

func deprecated(c Call) Call { c.Deprecated = true; return c }

// Shorthands for the statuses the table repeats.
const (
	sPF  = StatusParameterFault
	sLF  = StatusLateFault
	sIH  = StatusInvalidHandle
	sCC  = StatusChannelClosed
	sBS  = StatusInvalidBufferSize
	sBA  = StatusInvalidBufferAlignment
	sRL  = StatusRateLimited
	sRNP = StatusResponseNotPresent
	sRAS = StatusRequestAlreadySent
	sTME = StatusTooManyElements
	sUN  = StatusUnavailable
	sII  = StatusInvalidInterrupt
	sBSY = StatusMicrovisorBusy
	sAOR = StatusAddressOutOfRange
)

const hCh = "MvChannelHandle"

var callTable = []Call{
	call("mvNoOp", FamilySystem, false, "Does nothing and succeeds; useful to measure the cost of a call.", nil),
	call("mvGetMicroseconds", FamilyTime, true,
		"Reads a microsecond counter that starts at zero when the system boots and never goes back; it is unrelated to wall time.",
		ps(p("uint64_t *", "microseconds")), sPF),
	call("mvGetSysClk", FamilyClocks, false, "Reads the CPU clock frequency in hertz.", ps(p("uint32_t *", "hz")), sPF),
	call("mvGetHClk", FamilyClocks, false, "Reads the AHB bus clock frequency in hertz.", ps(p("uint32_t *", "hz")), sPF),
	call("mvGetPClk1", FamilyClocks, false, "Reads the APB1 bus clock frequency in hertz.", ps(p("uint32_t *", "hz")), sPF),
	call("mvGetPClk2", FamilyClocks, false, "Reads the APB2 bus clock frequency in hertz.", ps(p("uint32_t *", "hz")), sPF),
	call("mvGetWallTime", FamilyTime, true,
		"Reads the time in microseconds since the Unix epoch, leap seconds excluded. Unknown until the cloud has synchronised the clock after boot; it may step when the cloud corrects it.",
		ps(p("uint64_t *", "usec")), sPF, StatusTimeNotSet),
	call("mvGetDeviceId", FamilyIdentity, true,
		"Copies the device's 34-character identifier into buf, which must be exactly 34 bytes; no terminator is written.",
		ps(p("uint8_t *", "buf"), p("uint32_t", "len")), sPF, sBS),
	call("mvPeriphPeek32", FamilyPeripherals, false,
		"Reads a 32-bit peripheral register the application may not access directly.",
		ps(p("uint32_t", "reg"), p("uint32_t *", "output")), StatusPeripheralAccessFault),
	call("mvPeriphPoke32", FamilyPeripherals, false,
		"Changes a 32-bit peripheral register the application may not access directly: the register becomes (reg & ~mask) ^ xorvalue, so bits under mask are set from xorvalue and the others are toggled where xorvalue has a one. Bits the application does not own are left alone.",
		ps(p("uint32_t", "reg"), p("uint32_t", "mask"), p("uint32_t", "xorvalue")), StatusPeripheralAccessFault),
	call("mvSetupNotifications", FamilyNotifications, true,
		"Creates a notification centre: the system writes each event as a 16-byte record into the next slot of the ring and pends the IRQ. The application configures and enables the IRQ itself.",
		ps(p("const struct MvNotificationSetup *", "notifications"), p("MvNotificationHandle *", "handle_out")),
		sPF, sBS, StatusBufferAlreadyInUse, sII, StatusTooManyNotificationBuffers),
	call("mvCloseNotifications", FamilyNotifications, true,
		"Destroys a notification centre and writes zero through the pointer. No IRQ is pended afterwards; one already pending stays pending.",
		ps(p("MvNotificationHandle *", "handle_in_out")), sPF, sIH),
	call("mvTempTriggerNotification", FamilyDebug, false,
		"Posts a notification with the given event type and tag to a centre, for testing interrupt handlers.",
		ps(p("MvNotificationHandle", "handle"), p("enum MvEventType", "type"), p("uint32_t", "tag")), sIH),
	call("mvSetFastInterrupt", FamilyFastInterrupts, false, "Marks an IRQ as one to serve with low latency.",
		ps(p("uint32_t", "irqn")), sII, StatusInvalidVector, sUN),
	call("mvClearFastInterrupt", FamilyFastInterrupts, false, "Returns an IRQ marked fast to normal service.",
		ps(p("uint32_t", "irqn")), sII, sUN),
	call("mvEnableFastInterrupt", FamilyFastInterrupts, false, "Enables a fast IRQ.",
		ps(p("uint32_t", "irqn")), sII, sUN),
	call("mvDisableFastInterrupt", FamilyFastInterrupts, false, "Disables a fast IRQ.",
		ps(p("uint32_t", "irqn")), sII, sUN),
	call("mvDisableAllFastInterrupts", FamilyFastInterrupts, false, "Masks every fast IRQ at once.", nil),
	call("mvEnableAllFastInterrupts", FamilyFastInterrupts, false,
		"Undoes mvDisableAllFastInterrupts; each IRQ's own enabled state still applies.", nil),
	call("mvRequestNetwork", FamilyNetwork, true,
		"Asks for the network to be brought up and kept up, returning a handle for the request. Each change of network status is posted to the given centre.",
		ps(p("const struct MvRequestNetworkParams *", "params"), p("MvNetworkHandle *", "handle")),
		sPF, StatusUnsupportedStructureVersion),
	call("mvReleaseNetwork", FamilyNetwork, true,
		"Drops a network request and writes zero through the pointer. The link goes down once nothing needs it.",
		ps(p("MvNetworkHandle *", "handle")), sPF, sIH),
	call("mvGetNetworkStatus", FamilyNetwork, true, "Reads whether the device is connected to the cloud.",
		ps(p("MvNetworkHandle", "handle"), p("enum MvNetworkStatus *", "status")), sPF, sIH),
	call("mvGetNetworkReasons", FamilyNetwork, true,
		"Reads the bits saying why the device is or is not using the network, and how many network requests are held. Callable at any time.",
		ps(p("enum MvNetworkReason *", "reasons"), p("uint32_t *", "request_ref_count")), sPF),
	call("mvOpenChannel", FamilyChannels, true,
		"Opens a channel of the given type over a network. The send buffer is read-only to the application while the channel is open and is zeroed when it closes.",
		ps(p("const struct MvOpenChannelParams *", "params"), p("MvChannelHandle *", "handle")),
		sPF, sIH, sBA, sBS, StatusUnknownChannelEndpoint, StatusUnknownChannelType,
		StatusNetworkNotConnected, sRL, sUN, StatusTooManyChannels),
	deprecated(call("mvReadChannel", FamilyChannels, true,
		"Gives a pointer to the unread bytes of an OPAQUEBYTES channel and how many there are.",
		ps(p(hCh, "handle"), p("uint8_t **", "read_pointer_out"), p("uint32_t *", "length_out")), sPF, sIH, sCC)),
	deprecated(call("mvReadChannelComplete", FamilyChannels, true,
		"Tells an OPAQUEBYTES channel that the first consumed unread bytes are done with.",
		ps(p(hCh, "handle"), p("uint32_t", "consumed")), sIH, sCC)),
	deprecated(call("mvWriteChannelStream", FamilyChannels, true,
		"Writes as much of data as fits to an OPAQUEBYTES channel and reports how much that was.",
		ps(p(hCh, "handle"), p("const uint8_t *", "data"), p("uint32_t", "len"), p("uint32_t *", "written")),
		sPF, sIH, sCC, sLF)),
	deprecated(call("mvWriteChannel", FamilyChannels, true,
		"Writes all of data to an OPAQUEBYTES channel, or nothing if it does not fit, and reports the free space. A length of zero just reports the free space.",
		ps(p(hCh, "handle"), p("const uint8_t *", "data"), p("uint32_t", "len"), p("uint32_t *", "available")),
		sPF, sIH, sCC, sBS, sLF)),
	call("mvCloseChannel", FamilyChannels, true, "Closes a channel and writes zero through the pointer.",
		ps(p("MvChannelHandle *", "handle")), sPF, sIH),
	call("mvGetChannelClosureReason", FamilyChannels, true, "Reads why a channel closed.",
		ps(p(hCh, "handle"), p("enum MvClosureReason *", "reason_out")), sPF, sIH),
	call("mvSendHttpRequest", FamilyHTTP, true,
		"Sends the one request an HTTP channel carries. A bad pointer inside the request found after sending began is LATEFAULT and leaves the channel unusable.",
		ps(p(hCh, "handle"), p("const struct MvHttpRequest *", "request")),
		sPF, sLF, sIH, sBS, sTME, sCC, sRAS),
	call("mvReadHttpResponseData", FamilyHTTP, true, "Reads the outcome, status code, header count and body length of the response.",
		ps(p(hCh, "handle"), p("struct MvHttpResponseData *", "response_data")), sPF, sIH, sCC, sRNP),
	call("mvReadHttpResponseHeader", FamilyHTTP, true,
		"Copies up to size bytes of one response header into buf. No length is reported: pre-fill buf with a terminator and leave room for it.",
		ps(p(hCh, "handle"), p("uint32_t", "header_index"), p("uint8_t *", "buf"), p("uint32_t", "size")),
		sPF, sIH, sCC, sRNP, StatusIndexInvalid),
	call("mvReadHttpResponseBody", FamilyHTTP, true,
		"Copies response body bytes from offset into buf, as many as fit or remain; the rest of buf is untouched.",
		ps(p(hCh, "handle"), p("uint32_t", "offset"), p("uint8_t *", "buf"), p("uint32_t", "size")),
		sPF, sIH, sCC, sRNP, StatusOffsetInvalid),
	call("mvServerLoggingInit", FamilyLogging, true,
		"Gives the system a buffer for application log messages relayed to the cloud.",
		ps(p("uint8_t *", "buffer"), p("uint32_t", "length_bytes")), sPF, sBA, sBS),
	call("mvServerLog", FamilyLogging, true,
		"Queues one log message for the cloud; it is kept while offline and sent over any connection.",
		ps(p("const uint8_t *", "message"), p("uint16_t", "length_bytes")),
		sUN, sPF, sBS, StatusLogMessageTooLong, StatusLoggingDisabledByServer),
	call("mvSendConfigFetchRequest", FamilyConfig, true, "Sends the one fetch of config values and secrets a CONFIGFETCH channel carries.",
		ps(p(hCh, "handle"), p("const struct MvConfigKeyFetchParams *", "request")),
		sPF, sLF, sIH, sBS, sCC, sRAS, StatusTooManyConfigKeys, StatusUnknownConfigScope,
		StatusUnknownConfigStore, StatusInvalidConfigKey),
	call("mvReadConfigFetchResponseData", FamilyConfig, true, "Reads the outcome of a config fetch and how many items it returned.",
		ps(p(hCh, "handle"), p("struct MvConfigResponseData *", "response_data")), sPF, sCC, sRNP),
	call("mvReadConfigResponseItem", FamilyConfig, true, "Copies out the result and value of one fetched key.",
		ps(p(hCh, "handle"), p("const struct MvConfigResponseReadItemParams *", "params")),
		sPF, sIH, sCC, sRNP, StatusIndexInvalid),
	call("mvMqttGetNextReadableDataType", FamilyMQTT, true, "Names what an MQTT channel has waiting to be read next.",
		ps(p(hCh, "handle"), p("enum MvMqttReadableDataType *", "data_type")), sPF, sIH, sCC),
	call("mvMqttRequestConnect", FamilyMQTT, true, "Connects an MQTT channel to its broker; one connect per channel.",
		ps(p(hCh, "handle"), p("const struct MvMqttConnectRequest *", "request")),
		sPF, sLF, sIH, sCC, sRAS, StatusInvalidAuthentication, sTME, StatusRequiredElementMissing),
	call("mvMqttReadConnectResponse", FamilyMQTT, true, "Reads the answer to the connect request.",
		ps(p(hCh, "handle"), p("struct MvMqttConnectResponse *", "response_data")), sPF, sLF, sIH, sCC),
	call("mvMqttRequestSubscribe", FamilyMQTT, true, "Subscribes to up to 8 topic filters; one subscribe or unsubscribe in flight at a time.",
		ps(p(hCh, "handle"), p("const struct MvMqttSubscribeRequest *", "request")), sPF, sLF, sIH, sCC, sRL, sTME),
	call("mvMqttReadSubscribeResponse", FamilyMQTT, true, "Reads the answer to a subscribe request.",
		ps(p(hCh, "handle"), p("const struct MvMqttSubscribeResponse *", "response_data")), sPF, sLF, sIH, sCC, sBS),
	call("mvMqttRequestUnsubscribe", FamilyMQTT, true, "Drops up to 8 topic filters; one subscribe or unsubscribe in flight at a time.",
		ps(p(hCh, "handle"), p("const struct MvMqttUnsubscribeRequest *", "request")), sPF, sLF, sIH, sCC, sRL, sTME),
	call("mvMqttReadUnsubscribeResponse", FamilyMQTT, true, "Reads the answer to an unsubscribe request.",
		ps(p(hCh, "handle"), p("const struct MvMqttUnsubscribeResponse *", "response_data")), sPF, sLF, sIH, sCC, sBS),
	call("mvMqttRequestPublish", FamilyMQTT, true, "Publishes a message at QoS 0 or 1.",
		ps(p(hCh, "handle"), p("const struct MvMqttPublishRequest *", "request")), sPF, sLF, sIH, sCC, sRL),
	call("mvMqttReadPublishResponse", FamilyMQTT, true, "Reads the answer to a publish request.",
		ps(p(hCh, "handle"), p("struct MvMqttPublishResponse *", "response_data")), sPF, sLF, sIH, sCC),
	call("mvMqttReceiveMessage", FamilyMQTT, true, "Copies out an incoming message into the buffers given.",
		ps(p(hCh, "handle"), p("const struct MvMqttMessage *", "message_data")), sPF, sLF, sIH, sCC, sBS),
	call("mvMqttReceiveLostMessageInfo", FamilyMQTT, true, "Reports a message that was dropped because it could not fit the receive buffer.",
		ps(p(hCh, "handle"), p("const struct MvMqttLostMessageInfo *", "lost_message_info")), sPF, sLF, sIH, sCC, sBS),
	call("mvMqttAcknowledgeMessage", FamilyMQTT, true, "Acknowledges a message received at QoS 1; acknowledgements reach the broker in arrival order.",
		ps(p(hCh, "handle"), p("uint32_t", "correlation_id")), sIH, sCC, sRL),
	call("mvMqttRequestDisconnect", FamilyMQTT, true, "Disconnects from the broker.",
		ps(p(hCh, "handle")), sIH, sCC),
	call("mvMqttReadDisconnectResponse", FamilyMQTT, true, "Reads the answer to a disconnect request, or why the broker disconnected.",
		ps(p(hCh, "handle"), p("struct MvMqttDisconnectResponse *", "response_data")), sPF, sLF, sIH, sCC),
	call("mvTestingComplete", FamilyTesting, false,
		"Ends an application test run with a result, zero meaning success; only test code may call it.",
		ps(p("uint32_t", "status")), sUN),
	call("mvTestLoggingInit", FamilyTesting, false, "Gives the system a buffer for log messages shown on the test console.",
		ps(p("uint8_t *", "buffer"), p("uint32_t", "length_bytes")), sPF, sBA, sBS, sUN),
	call("mvTestLog", FamilyTesting, false, "Queues one message for the test console.",
		ps(p("const uint8_t *", "message"), p("uint16_t", "length_bytes")), sUN, sPF, sBS, StatusLogMessageTooLong),
	call("mvPowerSave", FamilyPower, false, "Enters a low-power mode until the next interrupt.",
		ps(p("enum MvPowerSavingMode", "mode")), sUN, sPF, sBSY),
	call("mvSystemLedEnable", FamilyLED, false, "Switches the system status LED off (0) or back on (1).",
		ps(p("uint32_t", "enable")), sUN),
	call("mvOpenSystemNotification", FamilySystemNotifications, false,
		"Sends system-wide events (network or update) to a notification centre.",
		ps(p("const struct MvOpenSystemNotificationParams *", "params"), p("MvSystemEventHandle *", "handle")), sUN, sPF, sIH),
	call("mvCloseSystemNotification", FamilySystemNotifications, false,
		"Stops a stream of system notifications and writes zero through the pointer.",
		ps(p("MvSystemEventHandle *", "handle")), sUN, sIH),
	call("mvDeepSleep", FamilyPower, false, "Enters a deep-sleep mode; the application restarts on waking.",
		ps(p("enum MvDeepSleepMode", "mode")), sUN, sPF, sBSY),
	call("mvGetWakeReason", FamilyRestart, false, "Reads why the application last started.",
		ps(p("enum MvWakeReason *", "reason")), sUN, sPF),
	call("mvRestart", FamilyRestart, false, "Restarts the application, or the device if a pending update needs it.",
		ps(p("enum MvRestartMode", "mode")), sUN, sPF, sBSY),
	call("mvExternalFlashOpen", FamilyExternalFlash, false, "Opens the application's part of the external flash.",
		ps(p("MvExternalFlashHandle *", "handle")), sUN, sPF, StatusTooManyChannels),
	call("mvExternalFlashClose", FamilyExternalFlash, false, "Closes an external flash handle and writes zero through the pointer.",
		ps(p("MvExternalFlashHandle *", "handle")), sUN, sIH),
	call("mvExternalFlashReadBlocking", FamilyExternalFlash, false, "Reads length bytes of external flash at address into buffer.",
		ps(p("MvExternalFlashHandle", "handle"), p("uint32_t", "address"), p("uint32_t", "length"), p("uint8_t *", "buffer")),
		sUN, sPF, sIH, sAOR),
	call("mvExternalFlashEraseBlocking", FamilyExternalFlash, false, "Erases external flash; address and length must be multiples of 4096.",
		ps(p("MvExternalFlashHandle", "handle"), p("uint32_t", "address"), p("uint32_t", "length")),
		sUN, sPF, sIH, sAOR, sBA),
	call("mvExternalFlashWriteBlocking", FamilyExternalFlash, false, "Writes length bytes from buffer to external flash at address.",
		ps(p("MvExternalFlashHandle", "handle"), p("uint32_t", "address"), p("uint32_t", "length"), p("const uint8_t *", "buffer")),
		sUN, sPF, sIH, sAOR),
	call("mvExternalFlashGetInfo", FamilyExternalFlash, false, "Reports the external flash chip, its usable size and the open handle count; set info->version to 1 first.",
		ps(p("MvExternalFlashHandle", "handle"), p("struct MvExternalFlashInfo *", "info")),
		sUN, sPF, sIH, StatusUnsupportedStructureVersion),
	call("mvSetWifiConfig", FamilyWifi, false, "Stores new Wi-Fi settings or clears the stored ones.",
		ps(p("const struct MvWifiConfig *", "params"))),
	call("mvGetWifiConfig", FamilyWifi, false, "Reports the stored Wi-Fi network name and whether it uses a password.",
		ps(p("const struct MvWifiConfigOut *", "params"))),
}
