package periph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// decodeStrict decodes one board entry into v, refusing fields v lacks;
// want lists the fields an entry may have, for the error.
func decodeStrict(raw json.RawMessage, v any, want string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &fieldError{te.Field, fmt.Errorf("want a %v", te.Type)}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &fieldError{strings.Trim(f, `"`), fmt.Errorf("unknown field (want %s)", want)}
	}
	return err
}

// gpioJSON is one entry of "gpio": an input the board drives, or a model
// on an output pin.
type gpioJSON struct {
	Pin   string          `json:"pin"`
	Input json.RawMessage `json:"input"`
	Model string          `json:"model"`
}

// placeGPIO reads {"pin":"PC13","input":1},
// {"pin":"PC13","input":[{"at":"0s","level":1},…]} or {"pin":"PA5","model":"led"}.
func (b *Board) placeGPIO(raw json.RawMessage) error {
	var g gpioJSON
	if err := decodeStrict(raw, &g, "pin, input, model"); err != nil {
		return err
	}
	if g.Pin == "" {
		return &fieldError{"pin", errors.New("missing (a pin such as \"PC13\")")}
	}
	hasInput := len(g.Input) != 0 && string(g.Input) != "null"
	switch {
	case hasInput && g.Model != "":
		return &fieldError{"model", errors.New("an entry either drives an input (input) or places a model on an output (model), not both")}
	case g.Model != "":
		return b.WatchPin(g.Pin, g.Model)
	case !hasInput:
		return &fieldError{"input", errors.New("missing (a level 0 or 1, or a timeline; or give a model)")}
	}
	levels, err := parseLevels(g.Input)
	if err != nil {
		return err
	}
	return b.DriveInput(g.Pin, levels)
}

func parseLevels(raw json.RawMessage) ([]Level, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return []Level{{0, n}}, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &fieldError{"input", errors.New("want a level 0 or 1, or an array of points {\"at\": \"1s\", \"level\": 0}")}
	}
	var out []Level
	err := parsePoints(list, "input", "level", "0 or 1", func(at time.Duration, l int) {
		out = append(out, Level{at, l})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parsePoints reads the points {"at": "1s", key: …} of a timeline array
// named field, calling add with each point's time and value; want says what
// the value is, for the errors.
func parsePoints[T any](list []map[string]json.RawMessage, field, key, want string, add func(time.Duration, T)) error {
	for i, m := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		at, err := parseAt(m, f)
		if err != nil {
			return err
		}
		raw, ok := m[key]
		if !ok {
			return &fieldError{f + "." + key, fmt.Errorf("missing (%s)", want)}
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return &fieldError{f + "." + key, fmt.Errorf("want %s", want)}
		}
		for k := range m {
			if k != "at" && k != key {
				return &fieldError{f + "." + k, fmt.Errorf("unknown field (want at, %s)", key)}
			}
		}
		add(at, v)
	}
	return nil
}

// parseAt reads a timeline point's "at".
func parseAt(m map[string]json.RawMessage, field string) (time.Duration, error) {
	at, ok := m["at"]
	if !ok {
		return 0, &fieldError{field + ".at", errors.New("missing (a time such as \"10s\")")}
	}
	var s string
	if err := json.Unmarshal(at, &s); err != nil {
		return 0, &fieldError{field + ".at", errors.New("want a duration string such as \"1.5s\"")}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &fieldError{field + ".at", fmt.Errorf("%q is not a duration such as \"1.5s\"", s)}
	}
	return d, nil
}

// uartJSON is one entry of "uart": text the application receives, a model
// on the other end, or both.
type uartJSON struct {
	Port  string          `json:"port"`
	Text  json.RawMessage `json:"text"`
	Model string          `json:"model"`
}

// placeUART reads {"port":"USART2","text":"OK\r\n"},
// {"port":"USART2","text":[{"at":"1s","text":"…"},…]} and/or "model":"echo".
func (b *Board) placeUART(raw json.RawMessage) error {
	var u uartJSON
	if err := decodeStrict(raw, &u, "port, text, model"); err != nil {
		return err
	}
	if u.Port == "" {
		return &fieldError{"port", fmt.Errorf("missing (one of %s)", strings.Join(UARTNames, ", "))}
	}
	hasText := len(u.Text) != 0 && string(u.Text) != "null"
	if !hasText && u.Model == "" {
		return &fieldError{"text", errors.New("missing (give text, a model, or both)")}
	}
	if hasText {
		chunks, err := parseChunks(u.Text)
		if err != nil {
			return err
		}
		if err := b.SendText(u.Port, chunks); err != nil {
			return err
		}
	}
	if u.Model != "" {
		return b.AttachUART(u.Port, u.Model)
	}
	return nil
}

func parseChunks(raw json.RawMessage) ([]Chunk, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []Chunk{{0, []byte(s)}}, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &fieldError{"text", errors.New("want a string, or an array of points {\"at\": \"1s\", \"text\": \"…\"}")}
	}
	var out []Chunk
	err := parsePoints(list, "text", "text", "a string", func(at time.Duration, t string) {
		out = append(out, Chunk{at, []byte(t)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
