package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestDemoRunsTheWholeFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, Options{}, &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"mvSetupNotifications", "mvRequestNetwork", "MV_NETWORKSTATUS_CONNECTED",
		"mvOpenChannel", "mvSendHttpRequest", "MV_EVENTTYPE_CHANNELDATAREADABLE",
		"mvReadHttpResponseData", "result=MV_HTTPRESULT_OK status_code=200",
		"X-Served-By: mvnet-demo", "Hello from the mvnet demo server",
		"mvCloseChannel", "mvReleaseNetwork", "mvCloseNotifications",
		"mvMqttRequestConnect", "state=MV_MQTTREQUESTSTATE_REQUESTCOMPLETED reason=0x0",
		"mvMqttReceiveMessage", "mvMqttAcknowledgeMessage", "mvMqttReadDisconnectResponse",
		`MQTT message received: topic mvnet/demo/hello, QoS 1, "Hello from a Microvisor device, via the cloud and back"`,
		`broker-host = "mqtt.example.com" (MV_CONFIGKEYFETCHRESULT_OK)`, "no-such-key: MV_CONFIGKEYFETCHRESULT_KEYNOTFOUND",
		`"mvnet demo: hello from the device's server log"`, "mvServerLog",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if strings.Contains(s, "→ MV_STATUS_") && strings.Count(s, "→ MV_STATUS_OKAY") != strings.Count(s, "→ MV_STATUS_") {
		t.Errorf("a system call failed:\n%s", s)
	}
}

func TestDemoReportsAFailedRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := Run(ctx, Options{URL: "https://nonexistent.invalid/", SkipMQTT: true}, &out)
	if err == nil || !strings.Contains(err.Error(), "MV_HTTPRESULT_REQUESTFAILED") {
		t.Fatalf("err = %v, want a REQUESTFAILED error\n%s", err, out.String())
	}
	// The transcript says why (the cloud's CONTROL DIAG).
	if !strings.Contains(out.String(), "ℹ cloud, channel") || !strings.Contains(out.String(), "DNS lookup of nonexistent.invalid failed") {
		t.Fatalf("the transcript does not give the reason:\n%s", out.String())
	}
}
