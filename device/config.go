package device

import (
	"context"
	"fmt"

	"github.com/mvnet/mvnet/abi"
)

// ConfigKey is one key of a config fetch as an application names it.
type ConfigKey struct {
	Scope abi.ConfigKeyFetchScope
	Store abi.ConfigKeyFetchStore
	Key   string
}

// ConfigItem is the answer for one key.
type ConfigItem struct {
	Result abi.ConfigKeyFetchResult
	Value  []byte
}

// SendConfigFetchRequest marshals keys into application memory and calls
// mvSendConfigFetchRequest.
func (d *Device) SendConfigFetchRequest(ch *Channel, keys []ConfigKey) (abi.Status, error) {
	return d.with(func(s *scratch) abi.Status {
		ks := make([]abi.ConfigKeyToFetch, len(keys))
		for i, k := range keys {
			ks[i] = abi.ConfigKeyToFetch{Scope: k.Scope, Store: k.Store, Key: s.str(k.Key)}
		}
		arr := s.alloc(uint64(len(ks)) * uint64(d.ABI.Struct("MvConfigKeyToFetch").Size()))
		if len(ks) > 0 {
			_ = d.ABI.WriteConfigKeysToFetch(d.Arena, arr, ks)
		}
		pp := s.alloc(uint64(d.ABI.Struct("MvConfigKeyFetchParams").Size()))
		_ = d.ABI.WriteConfigKeyFetchParams(d.Arena, pp, abi.ConfigKeyFetchParams{NumItems: uint32(len(ks)), KeysToFetch: arr})
		return d.call("mvSendConfigFetchRequest", func() abi.Status { return d.Kernel.SendConfigFetchRequest(ch.Handle, pp) }, nil,
			func() string { return fmt.Sprintf("handle=%#x keys=%d", ch.Handle, len(keys)) })
	})
}

// ReadConfigFetchResponseData is mvReadConfigFetchResponseData.
func (d *Device) ReadConfigFetchResponseData(ch *Channel) (abi.ConfigResponseData, abi.Status) {
	var v abi.ConfigResponseData
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(uint64(d.ABI.ConfigResponseDataSize()))
		st := d.call("mvReadConfigFetchResponseData", func() abi.Status { return d.Kernel.ReadConfigFetchResponseData(ch.Handle, p) }, func() string {
			v, _ := d.ABI.ReadConfigResponseData(d.Arena, p)
			return fmt.Sprintf("result=%s num_items=%d", v.Result, v.NumItems)
		}, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		v, _ = d.ABI.ReadConfigResponseData(d.Arena, p)
		return st
	})
	return v, st
}

// ReadConfigResponseItem is mvReadConfigResponseItem with a value buffer of
// size bytes; it returns the item's result and the bytes the kernel copied
// (*buf.length of them).
func (d *Device) ReadConfigResponseItem(ch *Channel, index, size uint32) (ConfigItem, abi.Status, error) {
	var it ConfigItem
	st, err := d.with(func(s *scratch) abi.Status {
		res, ln, buf := s.alloc(4), s.alloc(4), s.alloc(uint64(size))
		pp := s.alloc(uint64(d.ABI.Struct("MvConfigResponseReadItemParams").Size()))
		_ = d.ABI.WriteConfigResponseReadItemParams(d.Arena, pp, abi.ConfigResponseReadItemParams{
			ItemIndex: index, Result: res, Buf: abi.SizedStringBuffer{Data: buf, Size: size, Length: ln},
		})
		st := d.call("mvReadConfigResponseItem", func() abi.Status { return d.Kernel.ReadConfigResponseItem(ch.Handle, pp) }, func() string {
			return fmt.Sprintf("result=%s length=%d", abi.ConfigKeyFetchResult(d.loadU32(res)), d.loadU32(ln))
		}, func() string { return fmt.Sprintf("handle=%#x index=%d size=%d", ch.Handle, index, size) })
		if st == abi.StatusOkay {
			it.Result = abi.ConfigKeyFetchResult(d.loadU32(res))
			it.Value = make([]byte, d.loadU32(ln))
			_ = d.Arena.Load(it.Value, buf)
		}
		return st
	})
	return it, st, err
}

// FetchConfig fetches keys the way a Microvisor application does: open a
// CONFIGFETCH channel with the given buffer sizes (multiples of 512), send
// the request, wait for CHANNELDATAREADABLE, read the outcome and every
// item (each value with a buffer of rxSize bytes), and close the channel.
// It returns the outcome and the items in request order; a non-OKAY status
// from any call is returned as an error.
func (d *Device) FetchConfig(ctx context.Context, n *Net, keys []ConfigKey, rxSize, txSize uint32) (abi.ConfigFetchResult, []ConfigItem, error) {
	tag := n.nextTag.Add(1)
	ch, st, err := d.OpenChannel(ChannelConfig{Centre: n.Centre, Tag: tag, Network: n.Handle, Type: abi.ChannelTypeConfigFetch, RxSize: rxSize, TxSize: txSize})
	if err != nil {
		return 0, nil, err
	}
	if st != abi.StatusOkay {
		return 0, nil, fmt.Errorf("mvOpenChannel: %s", st)
	}
	defer d.CloseChannel(ch)
	if st, err := d.SendConfigFetchRequest(ch, keys); err != nil || st != abi.StatusOkay {
		return 0, nil, fmt.Errorf("mvSendConfigFetchRequest: %s %v", st, err)
	}
	for {
		nt, err := n.Centre.WaitTag(ctx, tag)
		if err != nil {
			return 0, nil, err
		}
		if nt.EventType == abi.EventTypeChannelNotConnected {
			r, _ := d.GetChannelClosureReason(ch)
			return 0, nil, fmt.Errorf("channel not connected: %s", r)
		}
		if nt.EventType == abi.EventTypeChannelDataReadable {
			break
		}
	}
	data, st := d.ReadConfigFetchResponseData(ch)
	if st != abi.StatusOkay {
		return 0, nil, fmt.Errorf("mvReadConfigFetchResponseData: %s", st)
	}
	items := make([]ConfigItem, 0, data.NumItems)
	for i := range data.NumItems {
		it, st, err := d.ReadConfigResponseItem(ch, i, rxSize)
		if err != nil || st != abi.StatusOkay {
			return 0, nil, fmt.Errorf("mvReadConfigResponseItem(%d): %s %v", i, st, err)
		}
		items = append(items, it)
	}
	return data.Result, items, nil
}
