package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad --board file stops the run before the application starts, and the
// error names the flag, the file, the line and the field.
func TestRunRejectsABadBoard(t *testing.T) {
	dir := t.TempDir()
	app, marker := markerApp(t, dir)
	board := filepath.Join(dir, "board.json")
	if err := os.WriteFile(board, []byte("{\"version\": 1,\n \"devices\": [{\"bus\": \"I2C1\", \"address\": 24, \"model\": \"bmp280\"}]}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := Run(context.Background(), Options{App: app, Board: board, Stdout: &out, Stderr: &out})
	want := `--board "` + board + `": line 2: devices[0].model: unknown model "bmp280"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Run = %v\nwant %s…", err, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the application started although the board file is bad")
	}

	// A good one reaches the application as MVNET_BOARD.
	if err := os.WriteFile(board, []byte(`{"version": 1, "devices": [{"bus": "I2C1", "address": 24, "model": "mcp9808"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, []byte("#!/bin/sh\nprintf '%s' \"$MVNET_BOARD\" > '"+marker+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Options{App: app, Board: board, Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(marker); err != nil || string(got) != board {
		t.Errorf("the application saw MVNET_BOARD=%q (%v), want %q", got, err, board)
	}
}
