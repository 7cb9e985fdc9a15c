package cassette_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// Record a run's upstream traffic, then replay it with no network, broker
// or config store. The runner's --record and --replay do the same.
func Example() {
	var store cloud.ConfigStore // the cloud's config store (nil: none)
	path := filepath.Join("testdata", "example.json")

	// Recording: the recorder wraps the real upstream.
	rec := cassette.NewRecorder(cassette.Options{}) // secrets redacted
	o := cloud.Options{Config: store}
	rec.Install(&o) // HTTP.WrapTransport, MQTT.WrapConnect and Config
	srv, err := cloud.New(o)
	if err != nil {
		log.Fatal(err)
	}
	_ = srv.Start(context.Background())
	// … run the application against srv …
	_ = srv.Shutdown(context.Background())
	if err := rec.Save(path); err != nil {
		log.Fatal(err)
	}

	// Replay: the same seams, answered from the cassette.
	rep, err := cassette.OpenReplayer(path, cassette.Options{})
	if err != nil {
		log.Fatal(err) // a corrupt cassette or another format version
	}
	o = cloud.Options{} // no store, and no network: replay does not need them
	rep.Install(&o)
	if srv, err = cloud.New(o); err != nil {
		log.Fatal(err)
	}
	_ = srv.Start(context.Background())
	// … run the application against srv …
	_ = srv.Shutdown(context.Background())
	for _, m := range rep.Mismatches() {
		fmt.Println(m) // e.g. cassette: http GET https://…/x: not in the cassette; closest recorded: GET https://…/y
	}
}
