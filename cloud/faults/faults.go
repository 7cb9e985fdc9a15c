// Package faults provokes network faults on the cloud's device links, on
// demand, so that application code can be tested against them: a dropped
// link, a channel closed or reset by the server, a slow link.
//
// An Injector only holds fault state and asks for actions through small
// interfaces. Device sessions consult it (LinkDropped when a device says
// HELLO, Latency for every frame they send); for actions on a live link it
// looks the device's current link up through Links and calls the Link
// interface. It never touches session internals. See docs/fault-injection.md
// for what each fault looks like from the device.
package faults

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/devid"
)

// Errors returned by the Injector, wrapped with the device and channel.
var (
	// ErrNotConnected: the device has no link to the cloud right now.
	ErrNotConnected = errors.New("device is not connected")
	// ErrUnknownChannel: the device has no open channel with that handle.
	ErrUnknownChannel = errors.New("no open channel with that handle")
)

// Link is one device's live link, as the Injector acts on it.
type Link interface {
	// Drop closes the link at once, without a goodbye.
	Drop()
	// CloseChannel sends CLOSE with reason to the device and forgets the
	// channel. It returns an error wrapping ErrUnknownChannel if the channel
	// is not open.
	CloseChannel(ch uint32, reason abi.ClosureReason) error
	// AnnounceUpdate tells the device an application update has been
	// downloaded for it (CONTROL UPDATE with the description).
	AnnounceUpdate(description string)
}

// Links finds the current link of a device.
type Links interface {
	Link(deviceID string) (Link, bool)
}

// Injector holds the faults in force and applies them. Its zero value is not
// usable; create one with New. It is safe for concurrent use.
type Injector struct {
	links Links

	mu      sync.Mutex
	dropped map[string]bool
	latency map[string]time.Duration
}

// New returns an Injector that acts on the links links finds.
func New(links Links) *Injector {
	return &Injector{
		links:   links,
		dropped: make(map[string]bool),
		latency: make(map[string]time.Duration),
	}
}

// DropLink closes the device's current link, if it has one, and refuses its
// reconnects (closing them before WELCOME) until RestoreLink. It may be
// called before the device first connects.
func (i *Injector) DropLink(deviceID string) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: DropLink: %w", err)
	}
	// Mark first, then look up: a session registering concurrently either
	// sees the mark or is found by the lookup (the registry checks
	// LinkDropped under the lock it registers with).
	i.mu.Lock()
	i.dropped[deviceID] = true
	i.mu.Unlock()
	if l, ok := i.links.Link(deviceID); ok {
		l.Drop()
	}
	return nil
}

// RestoreLink lets the device connect again after DropLink. Restoring a link
// that is not dropped does nothing.
func (i *Injector) RestoreLink(deviceID string) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: RestoreLink: %w", err)
	}
	i.mu.Lock()
	delete(i.dropped, deviceID)
	i.mu.Unlock()
	return nil
}

// CloseChannel closes one of the device's open channels from the server's
// side: the device gets CLOSE with reason CHANNELCLOSEDBYSERVER.
func (i *Injector) CloseChannel(deviceID string, ch uint32) error {
	return i.closeChannel("CloseChannel", deviceID, ch, abi.ClosureReasonChannelClosedByServer)
}

// ResetChannel is CloseChannel with reason CHANNELRESETBYSERVER.
func (i *Injector) ResetChannel(deviceID string, ch uint32) error {
	return i.closeChannel("ResetChannel", deviceID, ch, abi.ClosureReasonChannelResetByServer)
}

func (i *Injector) closeChannel(op, deviceID string, ch uint32, reason abi.ClosureReason) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: %s: %w", op, err)
	}
	l, ok := i.links.Link(deviceID)
	if !ok {
		return fmt.Errorf("faults: %s: device %s: %w", op, deviceID, ErrNotConnected)
	}
	if err := l.CloseChannel(ch, reason); err != nil {
		return fmt.Errorf("faults: %s: device %s channel %#x: %w", op, deviceID, ch, err)
	}
	return nil
}

// AnnounceUpdate tells a connected device that an application update has
// been downloaded for it: the kernel posts UPDATEDOWNLOADED to the
// application's UPDATE system notification streams (mvOpenSystemNotification
// with MV_SYSTEMNOTIFICATIONSOURCE_UPDATE). mvnet performs no real
// over-the-air updates; this lets applications test their update handling.
func (i *Injector) AnnounceUpdate(deviceID, description string) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: AnnounceUpdate: %w", err)
	}
	l, ok := i.links.Link(deviceID)
	if !ok {
		return fmt.Errorf("faults: AnnounceUpdate: device %s: %w", deviceID, ErrNotConnected)
	}
	l.AnnounceUpdate(description)
	return nil
}

// SetLatency delays every frame the cloud sends to the device by d, keeping
// their order; 0 clears it. It applies to frames queued from now on, on the
// current link and on later ones, and may be set before the device
// connects.
func (i *Injector) SetLatency(deviceID string, d time.Duration) error {
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("faults: SetLatency: %w", err)
	}
	if d < 0 {
		return fmt.Errorf("faults: SetLatency: device %s: negative latency %v", deviceID, d)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if d == 0 {
		delete(i.latency, deviceID)
	} else {
		i.latency[deviceID] = d
	}
	return nil
}

// LinkDropped reports whether the device's link is dropped (sessions consult
// it when the device says HELLO).
func (i *Injector) LinkDropped(deviceID string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.dropped[deviceID]
}

// Latency is the delay in force for frames to the device (sessions consult
// it for every frame they send).
func (i *Injector) Latency(deviceID string) time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.latency[deviceID]
}
