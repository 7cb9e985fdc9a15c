package process

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mvnet/mvnet/periph"
)

// An MCU reset does not power-cycle the parts on the board: after
// mvRestart the board's timelines go on from where they were
// (MVNET_BOARD_EPOCH carries their start across the exec) instead of
// starting again at 0.
func TestRestartContinuesTheBoardTimeline(t *testing.T) {
	board := filepath.Join(t.TempDir(), "board.json")
	// 20 °C for the first hour, 30 °C from then on.
	if err := os.WriteFile(board, []byte(`{"version":1,"devices":[{"bus":"I2C1","address":"0x18","model":"mcp9808",
		"values":[{"at":"0s","temperature_c":20},{"at":"1h","temperature_c":30}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	celsius := func(p *Process) uint16 {
		t.Helper()
		buf := make([]byte, 2)
		r := p.I2CTransfer(0, 0x18, periph.I2CSegment{Data: []byte{periph.MCP9808RegTA}}, periph.I2CSegment{Read: true, Data: buf})
		if !r.OK() {
			t.Fatalf("reading T_A: %+v", r)
		}
		return (uint16(buf[0])<<8 | uint16(buf[1])) & 0x1FFF / 16
	}
	fresh, _ := newTestProcess(t, map[string]string{EnvBoard: board})
	if c := celsius(fresh); c != 20 {
		t.Fatalf("a fresh board reads %d °C, want 20 (the timeline's start)", c)
	}
	// An image restarted an hour and a bit into the board's timeline.
	epoch := time.Now().Add(-time.Hour - time.Minute)
	p, _ := newTestProcess(t, map[string]string{EnvBoard: board, EnvRestarts: "1",
		EnvBoardEpoch: strconv.FormatInt(epoch.UnixNano(), 10)})
	if c := celsius(p); c != 30 {
		t.Fatalf("board epoch 61 min ago: %d °C, want 30 (the timeline at 1 h)", c)
	}
	env := restartedEnv(t, p)
	if env[EnvBoardEpoch] != strconv.FormatInt(epoch.UnixNano(), 10) {
		t.Fatalf("restart env %s=%q, want the board's start %d", EnvBoardEpoch, env[EnvBoardEpoch], epoch.UnixNano())
	}
	env[EnvBoard] = board // from the process environment on a real exec
	p2, _ := newTestProcess(t, env)
	if c := celsius(p2); c != 30 {
		t.Fatalf("after mvRestart: %d °C, want 30 (the timeline goes on, not back to 0)", c)
	}

	// A bad value names the variable.
	_, err := ConfigFromEnv(func(k string) string {
		return map[string]string{EnvBoard: board, EnvBoardEpoch: "yesterday"}[k]
	})
	var ce *ConfigError
	if err == nil || !errors.As(err, &ce) || ce.Var != EnvBoardEpoch {
		t.Fatalf("%s=yesterday: %v, want a ConfigError naming it", EnvBoardEpoch, err)
	}
}
