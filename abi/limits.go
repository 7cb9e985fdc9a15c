package abi

// Limits is the one home of the limits the kernel enforces and the cloud
// relies on: both import them from here.

// Limits from spec/abi.md, "Limits in one place".
const (
	// MaxNotificationCentres is how many notification centres may exist
	// at once.
	MaxNotificationCentres = 32
	// MinNotificationBuffer is the smallest notification ring, in bytes;
	// a ring is a multiple of NotificationSize.
	MinNotificationBuffer = 32
	// MaxNetworkHandles is how many network handles may be held at once.
	MaxNetworkHandles = 128
	// MaxChannels is how many channels may be open at once.
	MaxChannels = 4
	// MaxChannelOpensPerSecond is how many channels may be opened within
	// any one second.
	MaxChannelOpensPerSecond = 8
	// ChannelBufferUnit is what channel buffers are multiples of, and
	// aligned to, in bytes.
	ChannelBufferUnit = 512
	// MaxHTTPHeaders is the most headers one HTTP request may carry.
	MaxHTTPHeaders = 32
	// MaxMQTTCerts is the most certificates in one MQTT TLS chain.
	MaxMQTTCerts = 8
	// MaxMQTTTopics is the most topics in one MQTT subscribe or
	// unsubscribe.
	MaxMQTTTopics = 8
	// DeviceIDLen is the length of a device ID: "UV" and 32 hex digits.
	DeviceIDLen = 34
	// MinHTTPTimeoutMS and MaxHTTPTimeoutMS bound an HTTP request's
	// timeout, inclusive (spec/abi.md: "timeout 5000–10000 ms"); outside
	// them the request fails with MV_HTTPRESULT_INVALIDTIMEOUT.
	MinHTTPTimeoutMS = 5000
	MaxHTTPTimeoutMS = 10000
)

// mvnet's own limits, where spec/abi.md gives none.
const (
	// MaxConfigKeys is the most keys one mvSendConfigFetchRequest may ask
	// for (more is TOOMANYCONFIGKEYS), and so the most the cloud answers.
	MaxConfigKeys = 16
	// MaxConfigKeyLen is the longest config key, in bytes: the cloud's API
	// accepts keys of up to 100 characters, so a longer one could never
	// be found (INVALIDCONFIGKEY).
	MaxConfigKeyLen = 100
	// MaxLogLine is the longest server log line, in bytes: mvServerLog
	// refuses a longer one (LOGMESSAGETOOLONG), and the link's LOG frame
	// carries at most this much.
	MaxLogLine = 512
)

// The device's interrupt lines: the STM32U585 has external interrupts
// IRQn 0 to 124 (stm32u585xx.h, the last FMAC_IRQn). A notification
// centre's IRQ must be one of them (the kernel), and the emulated NVIC
// has exactly these (emu).
const NumIRQs = 125
