package kernel

import (
	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// network is one network handle. All handles share the device's one link;
// each keeps the status it last reported so changes are notified once, with
// that handle's tag.
type network struct {
	h      uint32
	nh     uint32 // notification centre
	tag    uint32
	status abi.NetworkStatus
}

// RequestNetwork is mvRequestNetwork. spec/abi.md: PARAMETERFAULT (params or
// handle inaccessible, 128 handles already held, or a field of params
// wrong), UNSUPPORTEDSTRUCTUREVERSION (version ≠ 1). The handle starts
// CONNECTING (notified) and becomes CONNECTED when the link is up.
func (k *Kernel) RequestNetwork(params, handleOut mem.Addr) abi.Status {
	p, err := k.abi.ReadRequestNetworkParams(k.mem, params)
	if err != nil || !k.checkW(handleOut, uint64(k.abi.HandleSize())) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.nets) >= maxNetworkHandles {
		return abi.StatusParameterFault
	}
	if p.Version != networkParamVersion {
		return abi.StatusUnsupportedStructureVersion
	}
	if _, ok := k.centres[p.NotificationHandle]; !ok {
		// A field of params is wrong: the notification centre must exist.
		return abi.StatusParameterFault
	}
	h := k.newHandleLocked()
	if k.abi.WriteHandle(k.mem, handleOut, h) != nil {
		k.freeHandleLocked(h)
		return abi.StatusParameterFault
	}
	n := &network{h: h, nh: p.NotificationHandle, tag: p.NotificationTag, status: abi.NetworkStatusDeliberatelyOffline}
	k.nets[h] = n
	k.neverUsed = false
	k.setStatusLocked(n, abi.NetworkStatusConnecting)
	if k.conn != nil {
		k.setStatusLocked(n, abi.NetworkStatusConnected)
	}
	k.dialDueLocked()
	k.nudge()
	return abi.StatusOkay
}

// ReleaseNetwork is mvReleaseNetwork: PARAMETERFAULT, INVALIDHANDLE. Writes
// zero through the pointer. Channels opened on the handle lose their
// connection (CHANNELNOTCONNECTED, reason NETWORKDISCONNECTED); the link goes
// down when no handle remains.
func (k *Kernel) ReleaseNetwork(handlePtr mem.Addr) abi.Status {
	return closeHandle(k, handlePtr, k.nets, func(h uint32, _ *network) {
		for _, ch := range k.chans {
			if ch.net == h {
				k.disconnectLocked(ch, abi.ClosureReasonNetworkDisconnected, true)
			}
		}
		if !k.wantLinkLocked() && k.conn != nil {
			k.dropLinkLocked(abi.ClosureReasonNetworkDisconnected)
		}
		k.nudge()
	})
}

// GetNetworkStatus is mvGetNetworkStatus: PARAMETERFAULT, INVALIDHANDLE.
func (k *Kernel) GetNetworkStatus(h uint32, out mem.Addr) abi.Status {
	return readAttr(k, h, out, k.nets, func(n *network) uint32 { return uint32(n.status) })
}

// GetNetworkReasons is mvGetNetworkReasons: PARAMETERFAULT. Callable at any
// time, even before any request.
func (k *Kernel) GetNetworkReasons(reasonsOut, countOut mem.Addr) abi.Status {
	if !k.checkW(reasonsOut, 4) || !k.checkW(countOut, 4) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	r := k.reasonsLocked()
	n := uint32(len(k.nets))
	k.mu.Unlock()
	if k.put32(reasonsOut, uint32(r)) != nil || k.put32(countOut, n) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

func (k *Kernel) reasonsLocked() abi.NetworkReason {
	var r abi.NetworkReason
	if len(k.nets) > 0 {
		r |= abi.NetworkReasonUsingNetwork
	}
	if k.neverUsed {
		r |= abi.NetworkReasonNeverUsedNetworkAPI
	}
	if !k.timeSet {
		r |= abi.NetworkReasonRTCNotSet
	}
	return r
}

// wantLinkLocked reports whether anyone needs the link: Microvisor keeps it
// until the application first uses the network API; afterwards the
// application's handles keep it.
func (k *Kernel) wantLinkLocked() bool {
	return !k.closed && k.dial != nil && (k.neverUsed || len(k.nets) > 0)
}

// setStatusLocked changes a handle's status, notifying the change with the
// handle's tag.
func (k *Kernel) setStatusLocked(n *network, st abi.NetworkStatus) {
	if n.status == st {
		return
	}
	n.status = st
	k.postLocked(n.nh, n.tag, abi.EventTypeNetworkStatusChanged)
}

// setAllStatusLocked moves every handle to st.
func (k *Kernel) setAllStatusLocked(st abi.NetworkStatus) {
	for _, n := range k.nets {
		k.setStatusLocked(n, st)
	}
}
