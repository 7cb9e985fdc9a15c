package abi_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/mvnet/mvnet/abi"
)

func TestConfigRoundTrip(t *testing.T) {
	for _, a := range abis {
		m := newFlatMem(base, 4096)
		p := base + 0x40
		keys := []abi.ConfigKeyToFetch{
			{Scope: abi.ConfigKeyFetchScopeDevice, Store: abi.ConfigKeyFetchStoreSecret, Key: abi.SizedString{Data: base + 0x100, Length: 7}},
			{Scope: abi.ConfigKeyFetchScopeAccount, Store: abi.ConfigKeyFetchStoreConfig, Key: abi.SizedString{Data: base + 0x200, Length: 100}},
		}
		err := a.WriteConfigKeysToFetch(m, p, keys)
		got, err2 := a.ReadConfigKeysToFetch(m, p, 2, nil)
		if err := errors.Join(err, err2); err != nil || !reflect.DeepEqual(got, keys) {
			t.Errorf("%s keys: %+v %v", a.Name(), got, err)
		}
		kp := abi.ConfigKeyFetchParams{NumItems: 2, KeysToFetch: base + 0x300}
		err = a.WriteConfigKeyFetchParams(m, p, kp)
		gotKP, err2 := a.ReadConfigKeyFetchParams(m, p)
		if err := errors.Join(err, err2); err != nil || gotKP != kp {
			t.Errorf("%s params: %+v %v", a.Name(), gotKP, err)
		}
		rd := abi.ConfigResponseData{Result: abi.ConfigFetchResultResponseTooLarge, NumItems: 3}
		err = a.WriteConfigResponseData(m, p, rd)
		gotRD, err2 := a.ReadConfigResponseData(m, p)
		if err := errors.Join(err, err2); err != nil || gotRD != rd || a.ConfigResponseDataSize() != 8 {
			t.Errorf("%s response data: %+v %v", a.Name(), gotRD, err)
		}
		ri := abi.ConfigResponseReadItemParams{ItemIndex: 5, Result: base + 0x400,
			Buf: abi.SizedStringBuffer{Data: base + 0x500, Size: 64, Length: base + 0x600}}
		err = a.WriteConfigResponseReadItemParams(m, p, ri)
		gotRI, err2 := a.ReadConfigResponseReadItemParams(m, p)
		if err := errors.Join(err, err2); err != nil || gotRI != ri {
			t.Errorf("%s read item params: %+v %v", a.Name(), gotRI, err)
		}
	}
	if err := abi.Device.WriteConfigKeyFetchParams(newFlatMem(base, 64), base, abi.ConfigKeyFetchParams{KeysToFetch: 1 << 33}); !errors.Is(err, abi.ErrAddressRange) {
		t.Errorf("wide pointer: %v", err)
	}
}
