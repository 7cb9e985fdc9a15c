package store_test

import (
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/cloud/store"
)

// The session uses the store directly.
var (
	_ session.ConfigStore = (*store.Store)(nil)
	_ session.LogStore    = (*store.Store)(nil)
)
