// Package devctx carries the ID of the device a piece of upstream work is
// for in its context: the cloud puts it on the context of every HTTP
// request it performs for a device and of every MQTT broker connect, so
// that layers wrapped around the upstream (fault injection, recording and
// replay) know whose traffic they see without being told by each caller.
package devctx

import "context"

type key struct{}

// With returns a context carrying deviceID.
func With(ctx context.Context, deviceID string) context.Context {
	return context.WithValue(ctx, key{}, deviceID)
}

// ID returns the device ID ctx carries, or "" if it carries none.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
