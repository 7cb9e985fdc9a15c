package abi

import "strings"

// EnumType describes one enum of the system-call ABI: its C and Go names, its
// size in bytes on the device (1 for the enums the device compiler shortens
// with short enums, else 4), whether its members are bits to be OR-ed
// together, and its members in value order.
//
// The table below is the single source of the ABI's enum names and values.
// enums_gen.go, docs/abi.md and the C header csdk/include/mv_syscalls.h
// are rendered from it (go generate ./abi).
type EnumType struct {
	CName    string // C enum tag, e.g. "MvStatus"
	GoName   string // Go type name, e.g. "Status"
	Size     int    // bytes on the device: 4, or 1 for short enums
	BitField bool   // members are single bits (plus a zero "none" member)
	Doc      string // one line, our own words
	Members  []EnumMember
}

// EnumMember is one named value of an EnumType.
type EnumMember struct {
	CName  string // e.g. "MV_STATUS_PARAMETERFAULT"
	GoName string // e.g. "StatusParameterFault"
	Value  uint32
	Doc    string // one line, our own words
}

// CPrefix is the prefix every member's C name carries, e.g. "MV_STATUS_" for
// MvStatus: "MV_" followed by the upper-cased tag without its "Mv".
func (e EnumType) CPrefix() string {
	return "MV_" + strings.ToUpper(strings.TrimPrefix(e.CName, "Mv")) + "_"
}

// MaxSentinel is the value of the C header's __MAX member, which pins the
// enum's underlying size: 0xff for 1-byte enums, 0xffffffff otherwise.
func (e EnumType) MaxSentinel() uint32 {
	if e.Size == 1 {
		return 0xff
	}
	return 0xffffffff
}

// Enums returns every enum type of the ABI in header order. The result is a
// copy: changing it does not change the table.
func Enums() []EnumType {
	out := make([]EnumType, len(enumTable))
	for i, e := range enumTable {
		e.Members = append([]EnumMember(nil), e.Members...)
		out[i] = e
	}
	return out
}

// enumByCName finds a table entry by its C tag.
func enumByCName(name string) (*EnumType, bool) {
	for i := range enumTable {
		if enumTable[i].CName == name {
			return &enumTable[i], true
		}
	}
	return nil, false
}

func mb(c, g string, v uint32, doc string) EnumMember {
	return EnumMember{CName: c, GoName: g, Value: v, Doc: doc}
}

// enumTable holds the values of spec/abi.md, "Enums". Descriptions are ours.
var enumTable = []EnumType{
	{CName: "MvStatus", GoName: "Status", Size: 4,
		Doc: "the result of every system call; zero means success",
		Members: []EnumMember{
			mb("MV_STATUS_OKAY", "StatusOkay", 0x00, "the call did what was asked"),
			mb("MV_STATUS_TIMENOTSET", "StatusTimeNotSet", 0x01, "wall-clock time is unknown until the cloud has synchronised it"),
			mb("MV_STATUS_PARAMETERFAULT", "StatusParameterFault", 0x02, "a pointer argument names memory the application may not access, or an argument is wrong"),
			mb("MV_STATUS_INVALIDBUFFERSIZE", "StatusInvalidBufferSize", 0x03, "a buffer is the wrong size for this call"),
			mb("MV_STATUS_PERIPHERALACCESSFAULT", "StatusPeripheralAccessFault", 0x04, "the peripheral register address is not allowed or not word-aligned"),
			mb("MV_STATUS_BUFFERALREADYINUSE", "StatusBufferAlreadyInUse", 0x05, "the buffer already belongs to another object"),
			mb("MV_STATUS_INVALIDINTERRUPT", "StatusInvalidInterrupt", 0x06, "the IRQ is not available to the application or is taken"),
			mb("MV_STATUS_INVALIDHANDLE", "StatusInvalidHandle", 0x07, "the handle is unknown or names the wrong kind of object"),
			mb("MV_STATUS_TOOMANYNOTIFICATIONBUFFERS", "StatusTooManyNotificationBuffers", 0x08, "every notification centre slot is in use"),
			mb("MV_STATUS_INVALIDVECTOR", "StatusInvalidVector", 0x09, "the fast-interrupt vector address cannot be used"),
			mb("MV_STATUS_UNAVAILABLE", "StatusUnavailable", 0x0a, "the operation is not possible in the current state"),
			mb("MV_STATUS_UNSUPPORTEDSTRUCTUREVERSION", "StatusUnsupportedStructureVersion", 0x0b, "the structure's version field is not one this system knows"),
			mb("MV_STATUS_TOOMANYCHANNELS", "StatusTooManyChannels", 0x0c, "the limit on channels open at once is reached"),
			mb("MV_STATUS_UNKNOWNCHANNELENDPOINT", "StatusUnknownChannelEndpoint", 0x0d, "the channel endpoint is not recognised"),
			mb("MV_STATUS_UNKNOWNCHANNELTYPE", "StatusUnknownChannelType", 0x0e, "the channel type is not recognised"),
			mb("MV_STATUS_CHANNELCLOSED", "StatusChannelClosed", 0x0f, "the channel has closed"),
			mb("MV_STATUS_NETWORKNOTCONNECTED", "StatusNetworkNotConnected", 0x10, "the device is offline, so the network operation cannot start"),
			mb("MV_STATUS_RATELIMITED", "StatusRateLimited", 0x11, "called too often or with too much in flight; try again later"),
			mb("MV_STATUS_INVALIDBUFFERALIGNMENT", "StatusInvalidBufferAlignment", 0x12, "a buffer is not aligned as the call requires"),
			mb("MV_STATUS_LATEFAULT", "StatusLateFault", 0x13, "a bad pointer was found after the call had already taken effect"),
			mb("MV_STATUS_RESPONSENOTPRESENT", "StatusResponseNotPresent", 0x14, "no response has arrived yet"),
			mb("MV_STATUS_INDEXINVALID", "StatusIndexInvalid", 0x15, "the item index is out of range"),
			mb("MV_STATUS_OFFSETINVALID", "StatusOffsetInvalid", 0x16, "the offset lies past the end of the response body"),
			mb("MV_STATUS_REQUESTALREADYSENT", "StatusRequestAlreadySent", 0x17, "this channel has already carried its one request"),
			mb("MV_STATUS_REQUESTUNSUCCESSFUL", "StatusRequestUnsuccessful", 0x18, "the request failed, so there is nothing to read"),
			mb("MV_STATUS_LOGMESSAGETOOLONG", "StatusLogMessageTooLong", 0x19, "the log message is over the size limit"),
			mb("MV_STATUS_LOGGINGDISABLEDBYSERVER", "StatusLoggingDisabledByServer", 0x1a, "the cloud has switched application logging off"),
			mb("MV_STATUS_TOOMANYCONFIGKEYS", "StatusTooManyConfigKeys", 0x1b, "one config fetch asks for too many keys"),
			mb("MV_STATUS_UNKNOWNCONFIGSTORE", "StatusUnknownConfigStore", 0x1c, "the config store value is not recognised"),
			mb("MV_STATUS_UNKNOWNCONFIGSCOPE", "StatusUnknownConfigScope", 0x1d, "the config scope value is not recognised"),
			mb("MV_STATUS_INVALIDCONFIGKEY", "StatusInvalidConfigKey", 0x1e, "a config key holds something other than printable ASCII"),
			mb("MV_STATUS_INVALIDAUTHENTICATION", "StatusInvalidAuthentication", 0x1f, "the credentials given contradict each other or are malformed"),
			mb("MV_STATUS_WRONGDATAREQUESTED", "StatusWrongDataRequested", 0x20, "the data asked for is not the kind waiting to be read"),
			mb("MV_STATUS_INTERNALERROR", "StatusInternalError", 0x21, "something failed inside the system that should not have"),
			mb("MV_STATUS_TOOMANYELEMENTS", "StatusTooManyElements", 0x22, "a list in the request is longer than allowed"),
			mb("MV_STATUS_REQUIREDELEMENTMISSING", "StatusRequiredElementMissing", 0x23, "a mandatory part of the request is absent"),
			mb("MV_STATUS_MICROVISORBUSY", "StatusMicrovisorBusy", 0x24, "the system is busy and cannot do this now"),
			mb("MV_STATUS_ADDRESSOUTOFRANGE", "StatusAddressOutOfRange", 0x25, "an address lies outside the permitted range"),
			mb("MV_STATUS_INPUTTOOLONG", "StatusInputTooLong", 0x26, "the input is longer than the call accepts"),
		}},
	{CName: "MvEventType", GoName: "EventType", Size: 4,
		Doc: "what a notification record reports",
		Members: []EnumMember{
			mb("MV_EVENTTYPE_NOEVENT", "EventTypeNoEvent", 0, "no event; marks an empty or invalid record"),
			mb("MV_EVENTTYPE_NETWORKSTATUSCHANGED", "EventTypeNetworkStatusChanged", 1, "the network's status changed"),
			mb("MV_EVENTTYPE_CHANNELDATAREADABLE", "EventTypeChannelDataReadable", 2, "a channel has data to read"),
			mb("MV_EVENTTYPE_CHANNELDATAWRITESPACE", "EventTypeChannelDataWriteSpace", 3, "a channel has room to write again"),
			mb("MV_EVENTTYPE_CHANNELNOTCONNECTED", "EventTypeChannelNotConnected", 4, "a channel lost its connection"),
			mb("MV_EVENTTYPE_UPDATEDOWNLOADED", "EventTypeUpdateDownloaded", 5, "an update has been downloaded"),
		}},
	{CName: "MvNetworkStatus", GoName: "NetworkStatus", Size: 4,
		Doc: "the state of the device's connection to the cloud",
		Members: []EnumMember{
			mb("MV_NETWORKSTATUS_DELIBERATELYOFFLINE", "NetworkStatusDeliberatelyOffline", 0, "offline and not trying to connect"),
			mb("MV_NETWORKSTATUS_CONNECTED", "NetworkStatusConnected", 1, "connected to the cloud"),
			mb("MV_NETWORKSTATUS_CONNECTING", "NetworkStatusConnecting", 2, "trying to reach the cloud"),
			mb("MV_NETWORKSTATUS_DISCONNECTEDWITHLINKUP", "NetworkStatusDisconnectedWithLinkUp", 3, "the link is up but the cloud is not reached"),
		}},
	{CName: "MvNetworkReason", GoName: "NetworkReason", Size: 4, BitField: true,
		Doc: "bits saying why the device is, or is not, using the network",
		Members: []EnumMember{
			mb("MV_NETWORKREASON_NOTCONNECTING", "NetworkReasonNotConnecting", 0x0, "no bit set: nothing wants a connection and nothing forbids one"),
			mb("MV_NETWORKREASON_USINGNETWORK", "NetworkReasonUsingNetwork", 0x1, "the application holds a network request"),
			mb("MV_NETWORKREASON_NEVERUSEDNETWORKAPI", "NetworkReasonNeverUsedNetworkAPI", 0x2, "the application has not called the network API yet"),
			mb("MV_NETWORKREASON_MINIMUMCHECKINEXPIRED", "NetworkReasonMinimumCheckinExpired", 0x4, "the longest allowed time without checking in has passed"),
			mb("MV_NETWORKREASON_RTCNOTSET", "NetworkReasonRTCNotSet", 0x8, "the real-time clock still needs setting"),
			mb("MV_NETWORKREASON_KERNELERROR", "NetworkReasonKernelError", 0x10, "a system error is waiting to be reported"),
			mb("MV_NETWORKREASON_APPLICATIONERROR", "NetworkReasonApplicationError", 0x20, "an application error is waiting to be reported"),
			mb("MV_NETWORKREASON_COLDBOOTCONNECTION", "NetworkReasonColdBootConnection", 0x40, "connecting after a cold boot to look for updates"),
			mb("MV_NETWORKREASON_FETCHINGUPDATE", "NetworkReasonFetchingUpdate", 0x80, "an update is downloading"),
			mb("MV_NETWORKREASON_DEBUGGERATTACHED", "NetworkReasonDebuggerAttached", 0x100, "a remote debugger is attached"),
			mb("MV_NETWORKREASON_NOAPPLICATIONCODE", "NetworkReasonNoApplicationCode", 0x200, "there is no application to run"),
			// spec/abi.md: 0x800 is the SDK value; one seed guide prints 0x8000.
			mb("MV_NETWORKREASON_ENHANCECALM", "NetworkReasonEnhanceCalm", 0x800, "connection attempts are paused for a while; blocks connecting while set"),
		}},
	{CName: "MvChannelType", GoName: "ChannelType", Size: 4,
		Doc: "the protocol a channel carries",
		Members: []EnumMember{
			mb("MV_CHANNELTYPE_OPAQUEBYTES", "ChannelTypeOpaqueBytes", 0, "raw bytes (deprecated)"),
			mb("MV_CHANNELTYPE_MQTT", "ChannelTypeMQTT", 1, "an MQTT broker session"),
			mb("MV_CHANNELTYPE_HTTP", "ChannelTypeHTTP", 2, "one HTTPS request and its response"),
			mb("MV_CHANNELTYPE_CONFIGFETCH", "ChannelTypeConfigFetch", 3, "one fetch of config values and secrets"),
		}},
	{CName: "MvClosureReason", GoName: "ClosureReason", Size: 4,
		Doc: "why a channel closed",
		Members: []EnumMember{
			mb("MV_CLOSUREREASON_NONE", "ClosureReasonNone", 0, "still open, or the reason is unknown"),
			mb("MV_CLOSUREREASON_CHANNELCLOSEDBYSERVER", "ClosureReasonChannelClosedByServer", 1, "the cloud closed it"),
			mb("MV_CLOSUREREASON_CHANNELRESETBYSERVER", "ClosureReasonChannelResetByServer", 2, "the cloud reset it"),
			mb("MV_CLOSUREREASON_NETWORKDISCONNECTED", "ClosureReasonNetworkDisconnected", 3, "the network went down"),
			mb("MV_CLOSUREREASON_CONNECTIONTERMINATED", "ClosureReasonConnectionTerminated", 4, "the connection to the cloud ended on an error"),
			mb("MV_CLOSUREREASON_NOTYETOPEN", "ClosureReasonNotYetOpen", 5, "the channel was never opened successfully"),
			mb("MV_CLOSUREREASON_CLOSEDBYAPPLICATION", "ClosureReasonClosedByApplication", 6, "the application closed it"),
			mb("MV_CLOSUREREASON_UNEXPECTEDLYTERMINATED", "ClosureReasonUnexpectedlyTerminated", 7, "it ended for a reason nobody recorded"),
		}},
	{CName: "MvHttpResult", GoName: "HTTPResult", Size: 4,
		Doc: "the cloud's verdict on an HTTP request",
		Members: []EnumMember{
			mb("MV_HTTPRESULT_OK", "HTTPResultOK", 0, "the request ran and a response is available"),
			mb("MV_HTTPRESULT_UNSUPPORTEDURISCHEME", "HTTPResultUnsupportedURIScheme", 1, "the URL's scheme is not https"),
			mb("MV_HTTPRESULT_UNSUPPORTEDMETHOD", "HTTPResultUnsupportedMethod", 2, "the method is not one the cloud will send"),
			mb("MV_HTTPRESULT_INVALIDHEADERS", "HTTPResultInvalidHeaders", 3, "a request header is malformed"),
			mb("MV_HTTPRESULT_INVALIDTIMEOUT", "HTTPResultInvalidTimeout", 4, "the timeout is outside the allowed range"),
			mb("MV_HTTPRESULT_REQUESTFAILED", "HTTPResultRequestFailed", 5, "the request could not be completed (DNS, connect, TLS, timeout)"),
			mb("MV_HTTPRESULT_RESPONSETOOLARGE", "HTTPResultResponseTooLarge", 6, "the response does not fit the channel's receive buffer"),
		}},
	{CName: "MvConfigKeyFetchScope", GoName: "ConfigKeyFetchScope", Size: 4,
		Doc: "whose value a config key names",
		Members: []EnumMember{
			mb("MV_CONFIGKEYFETCHSCOPE_ACCOUNT", "ConfigKeyFetchScopeAccount", 0, "shared by every device of the account"),
			mb("MV_CONFIGKEYFETCHSCOPE_DEVICE", "ConfigKeyFetchScopeDevice", 1, "belongs to this device alone"),
		}},
	{CName: "MvConfigKeyFetchStore", GoName: "ConfigKeyFetchStore", Size: 4,
		Doc: "which store a config key lives in",
		Members: []EnumMember{
			mb("MV_CONFIGKEYFETCHSTORE_SECRET", "ConfigKeyFetchStoreSecret", 0, "secrets: the cloud API can set them but never read them back"),
			mb("MV_CONFIGKEYFETCHSTORE_CONFIG", "ConfigKeyFetchStoreConfig", 1, "config: the cloud API can both set and read them"),
		}},
	{CName: "MvConfigFetchResult", GoName: "ConfigFetchResult", Size: 4,
		Doc: "the outcome of a whole config fetch",
		Members: []EnumMember{
			mb("MV_CONFIGFETCHRESULT_OK", "ConfigFetchResultOK", 0, "the fetch succeeded"),
			mb("MV_CONFIGFETCHRESULT_RESPONSETOOLARGE", "ConfigFetchResultResponseTooLarge", 1, "the answer does not fit the receive buffer"),
		}},
	{CName: "MvConfigKeyFetchResult", GoName: "ConfigKeyFetchResult", Size: 4,
		Doc: "the outcome for one key of a config fetch",
		Members: []EnumMember{
			mb("MV_CONFIGKEYFETCHRESULT_OK", "ConfigKeyFetchResultOK", 0, "the key's value is available"),
			mb("MV_CONFIGKEYFETCHRESULT_KEYNOTFOUND", "ConfigKeyFetchResultKeyNotFound", 1, "no such key"),
			mb("MV_CONFIGKEYFETCHRESULT_SERVERERROR", "ConfigKeyFetchResultServerError", 2, "the cloud failed while looking the key up"),
		}},
	{CName: "MvMqttReadableDataType", GoName: "MQTTReadableDataType", Size: 4,
		Doc: "what an MQTT channel has waiting to be read next",
		Members: []EnumMember{
			mb("MV_MQTTREADABLEDATATYPE_NONE", "MQTTReadableDataTypeNone", 0, "nothing is waiting"),
			mb("MV_MQTTREADABLEDATATYPE_MESSAGERECEIVED", "MQTTReadableDataTypeMessageReceived", 1, "an incoming message"),
			mb("MV_MQTTREADABLEDATATYPE_MESSAGELOST", "MQTTReadableDataTypeMessageLost", 2, "news of a message that could not be kept"),
			mb("MV_MQTTREADABLEDATATYPE_CONNECTRESPONSE", "MQTTReadableDataTypeConnectResponse", 3, "the answer to a connect request"),
			mb("MV_MQTTREADABLEDATATYPE_SUBSCRIBERESPONSE", "MQTTReadableDataTypeSubscribeResponse", 4, "the answer to a subscribe request"),
			mb("MV_MQTTREADABLEDATATYPE_UNSUBSCRIBERESPONSE", "MQTTReadableDataTypeUnsubscribeResponse", 5, "the answer to an unsubscribe request"),
			mb("MV_MQTTREADABLEDATATYPE_PUBLISHRESPONSE", "MQTTReadableDataTypePublishResponse", 6, "the answer to a publish request"),
			mb("MV_MQTTREADABLEDATATYPE_DISCONNECTRESPONSE", "MQTTReadableDataTypeDisconnectResponse", 7, "the answer to a disconnect request, or news of a disconnect"),
		}},
	{CName: "MvMqttProtocolVersion", GoName: "MQTTProtocolVersion", Size: 4,
		Doc: "the MQTT protocol version to speak to the broker",
		Members: []EnumMember{
			mb("MV_MQTTPROTOCOLVERSION_V3_1_1", "MQTTProtocolVersionV311", 0, "MQTT 3.1.1"),
			mb("MV_MQTTPROTOCOLVERSION_V5", "MQTTProtocolVersionV5", 1, "MQTT 5"),
		}},
	{CName: "MvMqttAuthenticationMethod", GoName: "MQTTAuthenticationMethod", Size: 1,
		Doc: "how the MQTT client proves who it is to the broker",
		Members: []EnumMember{
			mb("MV_MQTTAUTHENTICATIONMETHOD_NONE", "MQTTAuthenticationMethodNone", 0, "no credentials are sent"),
			mb("MV_MQTTAUTHENTICATIONMETHOD_USERNAMEPASSWORD", "MQTTAuthenticationMethodUsernamePassword", 1, "a user name and password are sent"),
		}},
	{CName: "MvMqttRequestState", GoName: "MQTTRequestState", Size: 4,
		Doc: "the outcome of an MQTT request",
		Members: []EnumMember{
			mb("MV_MQTTREQUESTSTATE_REQUESTCOMPLETED", "MQTTRequestStateRequestCompleted", 0, "the request completed"),
			mb("MV_MQTTREQUESTSTATE_INVALIDPARAMETERS", "MQTTRequestStateInvalidParameters", 1, "the request's parameters were rejected"),
			mb("MV_MQTTREQUESTSTATE_ALREADYCONNECTED", "MQTTRequestStateAlreadyConnected", 2, "this channel has already tried to connect; open a new one"),
			mb("MV_MQTTREQUESTSTATE_NOTCONNECTED", "MQTTRequestStateNotConnected", 3, "there was no broker connection when the request was made"),
			mb("MV_MQTTREQUESTSTATE_NXDOMAIN", "MQTTRequestStateNXDomain", 4, "the broker's name did not resolve (connect only)"),
			mb("MV_MQTTREQUESTSTATE_UNKNOWNCA", "MQTTRequestStateUnknownCA", 5, "the broker's certificate authority is not trusted (connect only)"),
			mb("MV_MQTTREQUESTSTATE_CERTIFICATEEXPIRED", "MQTTRequestStateCertificateExpired", 6, "a certificate is out of date (connect only)"),
			mb("MV_MQTTREQUESTSTATE_SOCKETERROR", "MQTTRequestStateSocketError", 7, "some other socket failure (connect only)"),
			mb("MV_MQTTREQUESTSTATE_CONNECTIONCIRCUITBREAKER", "MQTTRequestStateConnectionCircuitBreaker", 8, "the cloud cut the session because incoming messages came too fast"),
		}},
	{CName: "MvMqttLostMessageReason", GoName: "MQTTLostMessageReason", Size: 4,
		Doc: "why an incoming MQTT message was dropped",
		Members: []EnumMember{
			mb("MV_MQTTLOSTMESSAGEREASON_DEVICERECEIVEBUFFERTOOSMALL", "MQTTLostMessageReasonDeviceReceiveBufferTooSmall", 0, "the message is bigger than the channel's receive buffer"),
		}},
	{CName: "MvSystemNotificationSource", GoName: "SystemNotificationSource", Size: 4,
		Doc: "which system-wide events a system notification delivers",
		Members: []EnumMember{
			mb("MV_SYSTEMNOTIFICATIONSOURCE_NETWORK", "SystemNotificationSourceNetwork", 0, "changes in the connection to the cloud"),
			mb("MV_SYSTEMNOTIFICATIONSOURCE_UPDATE", "SystemNotificationSourceUpdate", 1, "application and system updates"),
		}},
	{CName: "MvPowerSavingMode", GoName: "PowerSavingMode", Size: 1,
		Doc: "the low-power state to enter while idle (STM32U5 modes)",
		Members: []EnumMember{
			mb("MV_POWERSAVINGMODE_SLEEP", "PowerSavingModeSleep", 0, "sleep"),
			mb("MV_POWERSAVINGMODE_STOP0", "PowerSavingModeStop0", 1, "stop level 0"),
			mb("MV_POWERSAVINGMODE_STOP1", "PowerSavingModeStop1", 2, "stop level 1"),
			mb("MV_POWERSAVINGMODE_STOP2", "PowerSavingModeStop2", 3, "stop level 2"),
			mb("MV_POWERSAVINGMODE_STOP3", "PowerSavingModeStop3", 4, "stop level 3"),
		}},
	{CName: "MvDeepSleepMode", GoName: "DeepSleepMode", Size: 1,
		Doc: "the deep-sleep state to enter (STM32U5 modes)",
		Members: []EnumMember{
			mb("MV_DEEPSLEEPMODE_STANDBY", "DeepSleepModeStandby", 0, "standby"),
			mb("MV_DEEPSLEEPMODE_SHUTDOWN", "DeepSleepModeShutdown", 1, "shutdown"),
		}},
	// spec/abi.md names only the two ends (COLDBOOT 0 … DEEPSLEEPOTHER 0x10);
	// the names in between are those of the published STM32U585 SDK header.
	{CName: "MvWakeReason", GoName: "WakeReason", Size: 1,
		Doc: "why the application (re)started",
		Members: []EnumMember{
			mb("MV_WAKEREASON_COLDBOOT", "WakeReasonColdBoot", 0x0, "power-on, or waking from shutdown"),
			mb("MV_WAKEREASON_REMOTEMICROVISORRESTART", "WakeReasonRemoteMicrovisorRestart", 0x1, "the cloud asked for a system restart"),
			mb("MV_WAKEREASON_REMOTEAPPLICATIONRESTART", "WakeReasonRemoteApplicationRestart", 0x2, "the cloud asked for an application restart"),
			mb("MV_WAKEREASON_DEBUGGERRESTART", "WakeReasonDebuggerRestart", 0x3, "a debugger restarted the application"),
			mb("MV_WAKEREASON_MICROVISORCRASH", "WakeReasonMicrovisorCrash", 0x4, "the system kernel crashed"),
			mb("MV_WAKEREASON_MICROVISORWATCHDOG", "WakeReasonMicrovisorWatchdog", 0x5, "the system watchdog fired"),
			mb("MV_WAKEREASON_MICROVISOROUTOFMEMORY", "WakeReasonMicrovisorOutOfMemory", 0x6, "the system ran out of memory"),
			mb("MV_WAKEREASON_MICROVISORERROR", "WakeReasonMicrovisorError", 0x7, "some other system failure"),
			mb("MV_WAKEREASON_APPLICATIONCRASH", "WakeReasonApplicationCrash", 0x8, "the application crashed"),
			mb("MV_WAKEREASON_APPLICATIONUPDATE", "WakeReasonApplicationUpdate", 0x9, "a new application was installed"),
			mb("MV_WAKEREASON_MICROVISORUPDATE", "WakeReasonMicrovisorUpdate", 0xa, "a new system version was installed"),
			mb("MV_WAKEREASON_OPTIONBYTES", "WakeReasonOptionBytes", 0xb, "the chip's option bytes changed"),
			mb("MV_WAKEREASON_DEEPSLEEPCHECKIN", "WakeReasonDeepSleepCheckin", 0xc, "woke from deep sleep because a check-in was due"),
			mb("MV_WAKEREASON_DEEPSLEEPAPPLICATION", "WakeReasonDeepSleepApplication", 0xd, "woke from deep sleep on a wake-up source the application owns"),
			mb("MV_WAKEREASON_DEEPSLEEPMODEM", "WakeReasonDeepSleepModem", 0xe, "woke from deep sleep on a modem interrupt"),
			mb("MV_WAKEREASON_DEEPSLEEPAPPLICATIONRTC", "WakeReasonDeepSleepApplicationRTC", 0xf, "woke from deep sleep on the application's RTC alarm"),
			mb("MV_WAKEREASON_DEEPSLEEPOTHER", "WakeReasonDeepSleepOther", 0x10, "woke from deep sleep for no identified reason"),
		}},
	{CName: "MvRestartMode", GoName: "RestartMode", Size: 4,
		Doc: "how a requested restart treats pending updates",
		Members: []EnumMember{
			mb("MV_RESTARTMODE_AUTOAPPLYUPDATE", "RestartModeAutoApplyUpdate", 0, "restart the application or the whole device, whichever pending updates need"),
		}},
	{CName: "MvWifiConfigMode", GoName: "WifiConfigMode", Size: 1,
		Doc: "what to do with new Wi-Fi settings",
		Members: []EnumMember{
			mb("MV_WIFICONFIGMODE_APPLYNOW", "WifiConfigModeApplyNow", 0, "replace the stored settings and use them from now on"),
			mb("MV_WIFICONFIGMODE_CLEARNOW", "WifiConfigModeClearNow", 1, "forget the stored settings and stop reconnecting"),
		}},
}
