package session

import (
	"context"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
)

// CONFIGFETCH channels.
//
// A CONFIGFETCH channel carries one request (link/config.go). Once it has
// arrived whole the session answers every key, in request order, from
// Config.Config: OK with the value, KEYNOTFOUND, or SERVERERROR when the
// store fails (or the key names an unknown scope or store, which the
// kernel never sends). Without a ConfigStore every key is SERVERERROR. When
// the whole answer would not fit the device's receive ring the response is
// RESPONSETOOLARGE with no items. A malformed request, more than
// MaxConfigKeys keys, bytes after the request or a request that cannot
// complete within the send ring close the channel with
// UNEXPECTEDLYTERMINATED.

// ConfigStore is where config values and secrets come from. The cloud's
// persistent store implements it; Fetch is called from the session's own
// goroutines, several at once for different devices and channels.
type ConfigStore interface {
	// Fetch returns the value of key in the given scope and store, as seen
	// by device deviceID: account scope is shared by every device of the
	// account, device scope belongs to deviceID alone. found is false
	// (with a nil error) when there is no such key. Secrets are returned
	// like configs: the device may read them, only the API may not.
	Fetch(ctx context.Context, deviceID string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) (value []byte, found bool, err error)
}

// MaxConfigKeys is the most keys the cloud answers in one config fetch, the
// kernel's own limit (mvSendConfigFetchRequest answers TOOMANYCONFIGKEYS
// beyond it).
const MaxConfigKeys = abi.MaxConfigKeys

// configDataLocked accumulates a CONFIGFETCH channel's request and starts
// answering it once whole.
func (s *Session) configDataLocked(ch *channel, p []byte) {
	req, n, ok, err := collectRequestLocked(s, ch, p, "config", link.ParseConfigRequest)
	if !ok {
		return
	}
	if err != nil || n != len(ch.reqBuf) || len(req.Keys) > MaxConfigKeys {
		s.log.Debug("malformed config request", "chan", ch.id, "err", err, "used", n, "have", len(ch.reqBuf), "keys", len(req.Keys))
		s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
		return
	}
	ctx := s.startRequestLocked(ch, n, 0)
	go s.runConfigFetch(ctx, ch, &req)
}

// runConfigFetch answers a config request and queues the response.
func (s *Session) runConfigFetch(ctx context.Context, ch *channel, req *link.ConfigRequest) {
	defer s.reqs.Done()
	defer ch.release() // after the response is queued
	resp := s.answerConfig(ctx, req)
	if link.ConfigResponseSize(&resp) > int(ch.rxSize) {
		resp = link.ConfigResponse{Result: uint32(abi.ConfigFetchResultResponseTooLarge)}
	}
	s.cfg.Metrics.ConfigFetch(&resp)
	s.log.Debug("config fetch done", "chan", ch.id, "keys", len(req.Keys), "result", abi.ConfigFetchResult(resp.Result))
	enc := link.AppendConfigResponse(nil, &resp)
	s.conn.Hold() // as in runRequest
	defer s.conn.Release()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch.stop() // release the request's context
	if s.ended || s.chans[ch.id] != ch {
		return
	}
	s.payCreditLocked(ch) // in the same write as what follows
	if len(enc) > int(ch.rxSize) {
		s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
		return
	}
	ch.pending = enc
	s.flushLocked(ch)
	s.answeredLocked(ch)
}

// answerConfig looks every key up, in request order.
func (s *Session) answerConfig(ctx context.Context, req *link.ConfigRequest) link.ConfigResponse {
	resp := link.ConfigResponse{Result: uint32(abi.ConfigFetchResultOK), Items: make([]link.ConfigItem, len(req.Keys))}
	id := s.DeviceID()
	for i, k := range req.Keys {
		it := &resp.Items[i]
		scope, store := abi.ConfigKeyFetchScope(k.Scope), abi.ConfigKeyFetchStore(k.Store)
		if s.cfg.Config == nil || scope > abi.ConfigKeyFetchScopeDevice || store > abi.ConfigKeyFetchStoreConfig {
			it.Result = uint8(abi.ConfigKeyFetchResultServerError)
			continue
		}
		v, found, err := s.cfg.Config.Fetch(ctx, id, scope, store, k.Key)
		switch {
		case err != nil:
			// The key names only; values (secrets) are never logged.
			s.log.Warn("config store fetch failed", "scope", scope, "store", store, "key", k.Key, "err", err)
			it.Result = uint8(abi.ConfigKeyFetchResultServerError)
		case !found:
			it.Result = uint8(abi.ConfigKeyFetchResultKeyNotFound)
		default:
			it.Result = uint8(abi.ConfigKeyFetchResultOK)
			it.Value = v
		}
	}
	return resp
}
