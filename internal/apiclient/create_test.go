package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

func TestCreateDevice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.c.CreateDevice(ctx, NewDevice{UniqueName: "meter"})
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DeviceSid string `json:"device_sid"`
	}
	if err := json.Unmarshal(got.Bundle, &b); err != nil || b.DeviceSid != got.Device.Sid || got.Device.Name() != "meter" {
		t.Fatalf("created %+v, bundle %s (%v)", got.Device, got.Bundle, err)
	}
	if d, err := e.c.GetDevice(ctx, "meter"); err != nil || d.Sid != got.Device.Sid {
		t.Fatalf("GetDevice(meter) = %+v, %v", d, err)
	}
	got, err = e.c.CreateDevice(ctx, NewDevice{DeviceID: devID(3)})
	if err != nil || got.Device.Sid != devID(3) {
		t.Fatalf("CreateDevice with an ID: %+v, %v", got.Device, err)
	}
	if _, err := e.c.CreateDevice(ctx, NewDevice{UniqueName: "meter"}); !IsStatus(err, http.StatusConflict) {
		t.Fatalf("a taken UniqueName: %v, want 409", err)
	}
	if _, err := e.c.CreateDevice(ctx, NewDevice{DeviceID: "UV12"}); !IsStatus(err, http.StatusBadRequest) {
		t.Fatalf("a bad DeviceId: %v, want 400", err)
	}
}

func TestDeleteDevice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.c.CreateDevice(ctx, NewDevice{UniqueName: "meter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteDevice(ctx, "meter"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetDevice(ctx, got.Device.Sid); !IsStatus(err, http.StatusNotFound) {
		t.Fatalf("GetDevice after delete: %v, want 404", err)
	}
	if err := e.c.DeleteDevice(ctx, got.Device.Sid); !IsStatus(err, http.StatusNotFound) {
		t.Fatalf("second delete: %v, want 404", err)
	}
}

func TestRotateToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, token, err := e.c.RotateToken(ctx)
	if err != nil || sid == "" || len(token) != 32 {
		t.Fatalf("RotateToken = %q, %q, %v", sid, token, err)
	}
	if _, err := e.c.ListDevices(ctx); !IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("the old token after rotation: %v, want 401", err)
	}
	c, err := New(e.c.BaseURL, sid, token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListDevices(ctx); err != nil {
		t.Fatalf("the new token: %v", err)
	}
}
