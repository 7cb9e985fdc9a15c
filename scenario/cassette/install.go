package cassette

import (
	"net/http"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/cloud/session"
)

// seams are the three layers a recorder or a replayer provides.
type seams interface {
	WrapTransport(http.RoundTripper) http.RoundTripper
	WrapConnect(mqttbridge.Connector) mqttbridge.Connector
	WrapConfig(session.ConfigStore) session.ConfigStore
}

// Install plugs the recorder into o: o.HTTP.WrapTransport,
// o.MQTT.WrapConnect and o.Config (recorded from the store o.Config names).
// Layers o already has stay outside the recorder, so it sees the real
// upstream.
func (r *Recorder) Install(o *cloud.Options) { install(r, o) }

// Install plugs the replayer into o as Recorder.Install does; o.Config
// (which may be nil) then serves only devices other than Options.Device.
func (p *Replayer) Install(o *cloud.Options) { install(p, o) }

func install(s seams, o *cloud.Options) {
	o.Config = s.WrapConfig(o.Config)
	if outer := o.HTTP.WrapTransport; outer != nil {
		o.HTTP.WrapTransport = func(base http.RoundTripper) http.RoundTripper { return outer(s.WrapTransport(base)) }
	} else {
		o.HTTP.WrapTransport = s.WrapTransport
	}
	if outer := o.MQTT.WrapConnect; outer != nil {
		o.MQTT.WrapConnect = func(base mqttbridge.Connector) mqttbridge.Connector { return outer(s.WrapConnect(base)) }
	} else {
		o.MQTT.WrapConnect = s.WrapConnect
	}
}
