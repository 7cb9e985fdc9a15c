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
	for i, m := range list {
		field := fmt.Sprintf("input[%d]", i)
		at, err := parseAt(m, field)
		if err != nil {
			return nil, err
		}
		var l Level
		l.At = at
		v, ok := m["level"]
		if !ok {
			return nil, &fieldError{field + ".level", errors.New("missing (0 or 1)")}
		}
		if err := json.Unmarshal(v, &l.Level); err != nil {
			return nil, &fieldError{field + ".level", errors.New("want 0 or 1")}
		}
		for k := range m {
			if k != "at" && k != "level" {
				return nil, &fieldError{field + "." + k, errors.New("unknown field (want at, level)")}
			}
		}
		out = append(out, l)
	}
	return out, nil
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
	for i, m := range list {
		field := fmt.Sprintf("text[%d]", i)
		at, err := parseAt(m, field)
		if err != nil {
			return nil, err
		}
		v, ok := m["text"]
		if !ok {
			return nil, &fieldError{field + ".text", errors.New("missing (a string)")}
		}
		var t string
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, &fieldError{field + ".text", errors.New("want a string")}
		}
		for k := range m {
			if k != "at" && k != "text" {
				return nil, &fieldError{field + "." + k, errors.New("unknown field (want at, text)")}
			}
		}
		out = append(out, Chunk{at, []byte(t)})
	}
	return out, nil
}
