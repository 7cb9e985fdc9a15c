package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/nats-io/nats.go/jetstream"
)

// Device is a registered device. Its SID is its device ID ("UV" + 32 hex
// digits, as the device reports it and as Microvisor's API names devices),
// so the registry needs no second identifier.
type Device struct {
	Sid            string
	UniqueName     string
	LoggingEnabled bool
	DateCreated    time.Time
	DateUpdated    time.Time
}

type deviceRecord struct {
	Sid            string    `json:"sid"`
	UniqueName     string    `json:"unique_name,omitempty"`
	LoggingEnabled bool      `json:"logging_enabled"`
	DateCreated    time.Time `json:"date_created"`
	DateUpdated    time.Time `json:"date_updated"`
}

// RegisterDevice adds deviceID to the registry with logging enabled and no
// UniqueName (and, like CreateDevice, no configs, secrets or logs a deleted
// device with that SID left), or returns the existing record: it is
// idempotent.
func (s *Store) RegisterDevice(ctx context.Context, deviceID string) (Device, error) {
	if err := checkSid(deviceID); err != nil {
		return Device{}, err
	}
	now := time.Now().UTC()
	r := deviceRecord{Sid: deviceID, LoggingEnabled: true, DateCreated: now, DateUpdated: now}
	b, _ := json.Marshal(r)
	_, err := s.devices.Create(ctx, deviceID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		d, _, err := s.device(ctx, deviceID)
		return d, err
	}
	if err != nil {
		return Device{}, fmt.Errorf("store: %w", err)
	}
	// A new record: start clean, as CreateDevice does.
	if err := s.purgeDeviceData(ctx, deviceID); err != nil {
		_ = s.devices.Purge(context.WithoutCancel(ctx), deviceID)
		return Device{}, err
	}
	return Device(r), nil
}

func (s *Store) device(ctx context.Context, sid string) (Device, uint64, error) {
	e, err := s.devices.Get(ctx, sid)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return Device{}, 0, notFound("DeviceSid", "no such device")
	}
	if err != nil {
		return Device{}, 0, fmt.Errorf("store: %w", err)
	}
	var r deviceRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Device{}, 0, fmt.Errorf("store: device record %s: %w", sid, err)
	}
	return Device(r), e.Revision(), nil
}

func (s *Store) deviceExists(ctx context.Context, sid string) error {
	if err := checkSid(sid); err != nil {
		return err
	}
	_, _, err := s.device(ctx, sid)
	return err
}

// GetDevice returns the device with that SID or UniqueName.
func (s *Store) GetDevice(ctx context.Context, sidOrUniqueName string) (Device, error) {
	if devid.Check(sidOrUniqueName) == nil {
		d, _, err := s.device(ctx, sidOrUniqueName)
		return d, err
	}
	if CheckUniqueName(sidOrUniqueName) != nil {
		return Device{}, notFound("DeviceSid", "no device with that SID or UniqueName")
	}
	e, err := s.names.Get(ctx, encodeKey(sidOrUniqueName))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Device{}, notFound("DeviceSid", "no device with that SID or UniqueName")
	}
	if err != nil {
		return Device{}, fmt.Errorf("store: %w", err)
	}
	d, _, err := s.device(ctx, string(e.Value()))
	if err == nil && d.UniqueName != sidOrUniqueName { // a stale reservation
		err = notFound("DeviceSid", "no device with that SID or UniqueName")
	}
	return d, err
}

// ListDevices lists registered devices sorted by SID.
func (s *Store) ListDevices(ctx context.Context, p Page) (List[Device], error) {
	keys, err := s.devices.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return List[Device]{}, fmt.Errorf("store: %w", err)
	}
	sort.Strings(keys)
	page, size, next, prev, err := pageOf(keys, p)
	if err != nil {
		return List[Device]{}, err
	}
	out := List[Device]{PageSize: size, Next: next, Prev: prev, Items: make([]Device, 0, len(page))}
	for _, sid := range page {
		d, _, err := s.device(ctx, sid)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return List[Device]{}, err
		}
		out.Items = append(out.Items, d)
	}
	return out, nil
}

// UpdateDevice changes a device's UniqueName (non-nil; "" removes it) and
// LoggingEnabled (non-nil). UniqueNames are unique across the account: a
// taken name is ErrConflict and nothing changes.
//
// A name is first reserved in the unique-name index (an atomic create), then
// the device record is replaced by compare-and-swap, then the old name is
// released; a failure after the reservation releases it again. A crash in
// between can only leave a reservation whose device does not carry the name,
// which GetDevice ignores and a claim of that name takes over once it is 30
// seconds old (younger, it is a claim in progress: ErrConflict).
func (s *Store) UpdateDevice(ctx context.Context, sid string, uniqueName *string, loggingEnabled *bool) (Device, error) {
	if err := checkSid(sid); err != nil {
		return Device{}, err
	}
	if uniqueName != nil && *uniqueName != "" {
		if err := CheckUniqueName(*uniqueName); err != nil {
			return Device{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		d, rev, err := s.device(ctx, sid)
		if err != nil {
			return Device{}, err
		}
		nd := d
		if loggingEnabled != nil {
			nd.LoggingEnabled = *loggingEnabled
		}
		if uniqueName != nil {
			nd.UniqueName = *uniqueName
		}
		if nd == d {
			return d, nil
		}
		reserved := false
		if nd.UniqueName != d.UniqueName && nd.UniqueName != "" {
			if reserved, err = s.reserveName(ctx, nd.UniqueName, sid); err != nil {
				return Device{}, err
			}
		}
		nd.DateUpdated = time.Now().UTC()
		b, _ := json.Marshal(deviceRecord(nd))
		newRev, err := s.devices.Update(ctx, sid, b, rev)
		if err != nil {
			if reserved {
				s.releaseName(ctx, nd.UniqueName, sid)
			}
			if casConflict(err) && casRetry(ctx, attempt) {
				continue // the record changed meanwhile; start over
			}
			return Device{}, fmt.Errorf("store: %w", err)
		}
		if reserved {
			// Make sure the reservation is still ours (a claimant that
			// took it for stale while this update was slow); else undo.
			if e, err := s.names.Get(ctx, encodeKey(nd.UniqueName)); err != nil || string(e.Value()) != sid {
				b, _ := json.Marshal(deviceRecord(d))
				if _, err := s.devices.Update(ctx, sid, b, newRev); err != nil {
					s.log.Error("undo device update after losing its UniqueName", "device", sid, "err", err)
				}
				return Device{}, &FieldError{Field: "UniqueName", Rule: fmt.Sprintf("must be unique: %q was claimed concurrently", nd.UniqueName), Err: ErrConflict}
			}
		}
		if d.UniqueName != "" && d.UniqueName != nd.UniqueName {
			s.releaseName(ctx, d.UniqueName, sid)
		}
		return nd, nil
	}
}

// staleReservation is how old a unique-name reservation whose device does
// not carry the name must be before another device may take it over; younger
// ones are claims in progress.
var staleReservation = 30 * time.Second

// reserveName points name at sid in the index. It reports whether it wrote a
// reservation (false when sid already held it).
func (s *Store) reserveName(ctx context.Context, name, sid string) (bool, error) {
	k := encodeKey(name)
	for attempt := 0; attempt < 5; attempt++ {
		_, err := s.names.Create(ctx, k, []byte(sid))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return false, fmt.Errorf("store: %w", err)
		}
		e, err := s.names.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("store: %w", err)
		}
		holder := string(e.Value())
		if holder == sid {
			return false, nil
		}
		if hd, _, err := s.device(ctx, holder); err == nil && hd.UniqueName == name {
			return false, &FieldError{Field: "UniqueName", Rule: fmt.Sprintf("must be unique: %q is the UniqueName of %s", name, holder), Err: ErrConflict}
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		if time.Since(e.Created()) < staleReservation {
			// Another device is claiming the name right now.
			return false, &FieldError{Field: "UniqueName", Rule: fmt.Sprintf("must be unique: %q is being claimed by %s", name, holder), Err: ErrConflict}
		}
		// Stale reservation: take it over unless someone else just did.
		if _, err := s.names.Update(ctx, k, []byte(sid), e.Revision()); err == nil {
			return true, nil
		} else if !casConflict(err) {
			return false, fmt.Errorf("store: %w", err)
		}
	}
	return false, &FieldError{Field: "UniqueName", Rule: "is being claimed concurrently; try again", Err: ErrConflict}
}

// releaseName removes name's reservation if sid still holds it.
func (s *Store) releaseName(ctx context.Context, name, sid string) {
	k := encodeKey(name)
	e, err := s.names.Get(ctx, k)
	if err != nil || string(e.Value()) != sid {
		return
	}
	if err := s.names.Purge(ctx, k, jetstream.LastRevision(e.Revision())); err != nil {
		s.log.Warn("release unique name", "device", sid, "err", err)
	}
}

// LoggingEnabled reports whether deviceID may log to the cloud. A device the
// registry does not know gets the default for new devices: enabled.
func (s *Store) LoggingEnabled(ctx context.Context, deviceID string) (bool, error) {
	defer s.observe(opLoggingEnabled, time.Now())
	if err := devid.Check(deviceID); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	d, _, err := s.device(ctx, deviceID)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return d.LoggingEnabled, nil
}

// CreateDevice registers a new device, with uniqueName unless it is "". It
// is all or nothing: a SID already registered is ErrConflict (field
// DeviceId), and when the name cannot be claimed (taken, or claimed
// concurrently by another create) the record just written is removed again,
// so the loser of a race for a name is not left registered without it. The
// device starts with no configs, secrets or logs, even where a deleted
// device with the same SID left some.
func (s *Store) CreateDevice(ctx context.Context, sid, uniqueName string) (Device, error) {
	if err := checkSid(sid); err != nil {
		return Device{}, err
	}
	if uniqueName != "" {
		if err := CheckUniqueName(uniqueName); err != nil {
			return Device{}, err
		}
	}
	now := time.Now().UTC()
	r := deviceRecord{Sid: sid, LoggingEnabled: true, DateCreated: now, DateUpdated: now}
	b, _ := json.Marshal(r)
	if _, err := s.devices.Create(ctx, sid, b); errors.Is(err, jetstream.ErrKeyExists) {
		return Device{}, &FieldError{Field: "DeviceId", Rule: fmt.Sprintf("a device %s is already registered", sid), Err: ErrConflict}
	} else if err != nil {
		return Device{}, fmt.Errorf("store: %w", err)
	}
	// The SID is ours now; a device deleted with it before may have left
	// configs, secrets or logs behind (a delete that failed half-way):
	// the new device starts clean.
	err := s.purgeDeviceData(ctx, sid)
	d := Device(r)
	if err == nil && uniqueName != "" {
		d, err = s.UpdateDevice(ctx, sid, &uniqueName, nil)
	}
	if err != nil {
		// Roll back on a context of its own: ctx may be what ended.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := s.devices.Purge(rctx, sid); derr != nil {
			return Device{}, fmt.Errorf("%w (and removing the half-created device %s failed: %v)", err, sid, derr)
		}
		return Device{}, err
	}
	return d, nil
}

// DeleteDevice removes a device (by SID or UniqueName) and everything kept
// for it: its record first — from then on its certificate is refused (the
// registry is the source of truth, docs/cloud.md) — then its UniqueName, its
// device-scoped configs and secrets and its log lines. It returns the
// deleted device; ErrNotFound if there is none.
//
// It can be retried: a delete that failed after removing the record leaves
// the rest behind, and a retry by SID, which finds no record (ErrNotFound),
// removes the rest anyway (CreateDevice does too, so a new device with the
// SID never inherits them).
func (s *Store) DeleteDevice(ctx context.Context, sidOrUniqueName string) (Device, error) {
	d, err := s.GetDevice(ctx, sidOrUniqueName)
	if errors.Is(err, ErrNotFound) && devid.Check(sidOrUniqueName) == nil {
		if perr := s.purgeDeviceData(ctx, sidOrUniqueName); perr != nil {
			return Device{}, perr
		}
	}
	if err != nil {
		return Device{}, err
	}
	if err := s.devices.Purge(ctx, d.Sid); err != nil {
		return Device{}, fmt.Errorf("store: delete device %s: %w", d.Sid, err)
	}
	if d.UniqueName != "" {
		s.releaseName(ctx, d.UniqueName, d.Sid)
	}
	return d, s.purgeDeviceData(ctx, d.Sid)
}

// purgeDeviceData removes what is kept for device sid besides its record
// and name: its device-scoped configs and secrets and its log lines.
func (s *Store) purgeDeviceData(ctx context.Context, sid string) error {
	for _, kv := range []jetstream.KeyValue{s.deviceConfigs, s.deviceSecrets} {
		kl, err := kv.ListKeysFiltered(ctx, sid+".*")
		if err != nil {
			return fmt.Errorf("store: delete device %s's items: %w", sid, err)
		}
		var keys []string
		for k := range kl.Keys() {
			keys = append(keys, k)
		}
		for _, k := range keys {
			if err := kv.Purge(ctx, k); err != nil {
				return fmt.Errorf("store: delete device %s's items: %w", sid, err)
			}
		}
	}
	if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(logSubject(sid))); err != nil {
		return fmt.Errorf("store: delete device %s's logs: %w", sid, err)
	}
	s.forgetMark(sid)
	return nil
}

// DeviceRegistered reports whether sid is in the registry; err is for the
// store failing. The cloud asks it when a device says HELLO.
func (s *Store) DeviceRegistered(ctx context.Context, sid string) (bool, error) {
	defer s.observe(opDeviceRegistered, time.Now())
	_, _, err := s.device(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// WatchDeletedDevices calls fn with the SID of every device deleted from
// now on, by any client of the store (this process, another cloud node,
// 'mvnet device delete' on an external NATS), until ctx ends or the store
// closes. It returns once the watch is in place.
func (s *Store) WatchDeletedDevices(ctx context.Context, fn func(sid string)) error {
	w, err := s.devices.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		return fmt.Errorf("store: watch devices: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer w.Stop()
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil && (e.Operation() == jetstream.KeyValueDelete || e.Operation() == jetstream.KeyValuePurge) {
					fn(e.Key())
				}
			case <-ctx.Done():
				return
			case <-s.closed:
				return
			}
		}
	}()
	return nil
}
