package abi

import "github.com/mvnet/mvnet/mem"

// Codecs of the config fetch structures (spec/abi.md, "Structures"). Like
// the others they decode nested pointers as addresses and never follow
// them.

// ConfigKeyToFetch is MvConfigKeyToFetch.
type ConfigKeyToFetch struct {
	Scope ConfigKeyFetchScope
	Store ConfigKeyFetchStore
	Key   SizedString
}

// ConfigKeyFetchParams is MvConfigKeyFetchParams: KeysToFetch is the address
// of an array of NumItems MvConfigKeyToFetch (read it with
// ReadConfigKeysToFetch).
type ConfigKeyFetchParams struct {
	NumItems    uint32
	KeysToFetch mem.Addr
}

// ConfigResponseData is MvConfigResponseData.
type ConfigResponseData struct {
	Result   ConfigFetchResult
	NumItems uint32
}

// ConfigResponseReadItemParams is MvConfigResponseReadItemParams.
type ConfigResponseReadItemParams struct {
	ItemIndex uint32
	Result    mem.Addr // enum MvConfigKeyFetchResult *
	Buf       SizedStringBuffer
}

type configCodecs struct {
	key struct {
		size, scope, store int
		key                sizedStringOffs
	}
	params struct{ size, num, keys int }
	data   struct{ size, result, num int }
	item   struct {
		size, index, result int
		buf                 sizedStringBufferOffs
	}
}

func (c *configCodecs) init(o *offsetLookup) {
	const kt, kp, rd, ri = "MvConfigKeyToFetch", "MvConfigKeyFetchParams", "MvConfigResponseData", "MvConfigResponseReadItemParams"
	c.key.size, c.key.scope, c.key.store, c.key.key = o.size(kt), o.off(kt, "scope"), o.off(kt, "store"), o.str(kt, "key")
	c.params.size, c.params.num, c.params.keys = o.size(kp), o.off(kp, "num_items"), o.off(kp, "keys_to_fetch")
	c.data.size, c.data.result, c.data.num = o.size(rd), o.off(rd, "result"), o.off(rd, "num_items")
	c.item.size, c.item.index, c.item.result, c.item.buf = o.size(ri), o.off(ri, "item_index"), o.off(ri, "result"), o.ssb(ri, "buf")
}

func (a *ABI) decConfigKey(b []byte) ConfigKeyToFetch {
	o := &a.c.config.key
	return ConfigKeyToFetch{
		Scope: ConfigKeyFetchScope(le.Uint32(b[o.scope:])), Store: ConfigKeyFetchStore(le.Uint32(b[o.store:])),
		Key: a.strAt(b, o.key),
	}
}

func (a *ABI) encConfigKey(b []byte, v ConfigKeyToFetch) error {
	o := &a.c.config.key
	le.PutUint32(b[o.scope:], uint32(v.Scope))
	le.PutUint32(b[o.store:], uint32(v.Store))
	return okOrRange(a.putStr(b, o.key, v.Key), v.Key.Data)
}

// ReadConfigKeysToFetch appends to dst the n MvConfigKeyToFetch of the
// array at p. The caller bounds n first. On a fault it returns dst
// unextended and the fault.
func (a *ABI) ReadConfigKeysToFetch(m mem.Memory, p mem.Addr, n uint32, dst []ConfigKeyToFetch) ([]ConfigKeyToFetch, error) {
	return readArray(a, m, p, n, a.c.config.key.size, dst, (*ABI).decConfigKey)
}

// WriteConfigKeysToFetch writes vs as an array of MvConfigKeyToFetch at p.
func (a *ABI) WriteConfigKeysToFetch(m mem.Memory, p mem.Addr, vs []ConfigKeyToFetch) error {
	return writeArray(a, m, p, vs, a.c.config.key.size, (*ABI).encConfigKey)
}

func (a *ABI) decConfigParams(b []byte) ConfigKeyFetchParams {
	o := &a.c.config.params
	return ConfigKeyFetchParams{NumItems: le.Uint32(b[o.num:]), KeysToFetch: a.ptrAt(b, o.keys)}
}

func (a *ABI) encConfigParams(b []byte, v ConfigKeyFetchParams) error {
	o := &a.c.config.params
	le.PutUint32(b[o.num:], v.NumItems)
	return okOrRange(a.putPtr(b, o.keys, v.KeysToFetch), v.KeysToFetch)
}

// ReadConfigKeyFetchParams reads an MvConfigKeyFetchParams at p.
func (a *ABI) ReadConfigKeyFetchParams(m mem.Memory, p mem.Addr) (ConfigKeyFetchParams, error) {
	return readStruct(a, m, p, a.c.config.params.size, (*ABI).decConfigParams)
}

// WriteConfigKeyFetchParams writes v as an MvConfigKeyFetchParams at p.
func (a *ABI) WriteConfigKeyFetchParams(m mem.Memory, p mem.Addr, v ConfigKeyFetchParams) error {
	return writeStruct(a, m, p, a.c.config.params.size, v, (*ABI).encConfigParams)
}

func (a *ABI) decConfigData(b []byte) ConfigResponseData {
	o := &a.c.config.data
	return ConfigResponseData{Result: ConfigFetchResult(le.Uint32(b[o.result:])), NumItems: le.Uint32(b[o.num:])}
}

func (a *ABI) encConfigData(b []byte, v ConfigResponseData) error {
	o := &a.c.config.data
	le.PutUint32(b[o.result:], uint32(v.Result))
	le.PutUint32(b[o.num:], v.NumItems)
	return nil
}

// ConfigResponseDataSize is the size of MvConfigResponseData (the same in
// every ABI).
func (a *ABI) ConfigResponseDataSize() int { return a.c.config.data.size }

// ReadConfigResponseData reads an MvConfigResponseData at p.
func (a *ABI) ReadConfigResponseData(m mem.Memory, p mem.Addr) (ConfigResponseData, error) {
	return readStruct(a, m, p, a.c.config.data.size, (*ABI).decConfigData)
}

// WriteConfigResponseData writes v as an MvConfigResponseData at p.
func (a *ABI) WriteConfigResponseData(m mem.Memory, p mem.Addr, v ConfigResponseData) error {
	return writeStruct(a, m, p, a.c.config.data.size, v, (*ABI).encConfigData)
}

func (a *ABI) decConfigItem(b []byte) ConfigResponseReadItemParams {
	o := &a.c.config.item
	return ConfigResponseReadItemParams{ItemIndex: le.Uint32(b[o.index:]), Result: a.ptrAt(b, o.result), Buf: a.ssbAt(b, o.buf)}
}

func (a *ABI) encConfigItem(b []byte, v ConfigResponseReadItemParams) error {
	o := &a.c.config.item
	le.PutUint32(b[o.index:], v.ItemIndex)
	ok := a.putPtr(b, o.result, v.Result)
	ok = a.putSSB(b, o.buf, v.Buf) && ok
	return okOrRange(ok, v.Result, v.Buf.Data, v.Buf.Length)
}

// ReadConfigResponseReadItemParams reads an MvConfigResponseReadItemParams
// at p.
func (a *ABI) ReadConfigResponseReadItemParams(m mem.Memory, p mem.Addr) (ConfigResponseReadItemParams, error) {
	return readStruct(a, m, p, a.c.config.item.size, (*ABI).decConfigItem)
}

// WriteConfigResponseReadItemParams writes v as an
// MvConfigResponseReadItemParams at p.
func (a *ABI) WriteConfigResponseReadItemParams(m mem.Memory, p mem.Addr, v ConfigResponseReadItemParams) error {
	return writeStruct(a, m, p, a.c.config.item.size, v, (*ABI).encConfigItem)
}
