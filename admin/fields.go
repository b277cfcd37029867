package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/bidsieve/bidsieve/config"
)

// The fields a manager may change per DSP (PATCH /admin/api/dsps/{name}).
const (
	FieldRecallTarget    = "recall_target"
	FieldThreshold       = "threshold"
	FieldExplorationRate = "exploration_rate"
	FieldEnabled         = "enabled"
	FieldQPSLimit        = "qps_limit"
	FieldMode            = "mode"
)

// maxQPSLimit bounds qps_limit: a larger figure is a typing slip, not a cap.
const maxQPSLimit = 10_000_000

// FieldError is a bad value for one field: the API answers 400 naming Field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// field is one overridable DSP setting: how to check a JSON value, how to read the value
// in force from a DSP's configuration and how to write an override into it.
type field struct {
	name string
	// parse checks a JSON value and returns it in canonical form.
	parse func(raw json.RawMessage) (json.RawMessage, error)
	// get returns the value in force for d under the global shaping section g.
	get func(d *config.DSP, g config.Shaping) any
	// set writes a canonical value into d.
	set func(d *config.DSP, raw json.RawMessage)
}

var fields = []field{
	{
		name:  FieldRecallTarget,
		parse: numberIn(FieldRecallTarget, config.MinRecallTarget, config.MaxRecallTarget, false),
		get:   func(d *config.DSP, g config.Shaping) any { return d.ShapingFor(g).RecallTarget },
		set:   func(d *config.DSP, raw json.RawMessage) { d.RecallTarget = decodeFloatPtr(raw) },
	},
	{
		name:  FieldThreshold,
		parse: numberIn(FieldThreshold, 0, 1, true),
		get: func(d *config.DSP, g config.Shaping) any {
			if t := d.ShapingFor(g).Threshold; t != nil {
				return *t
			}
			return nil
		},
		set: func(d *config.DSP, raw json.RawMessage) { d.Threshold = decodeFloatPtr(raw) },
	},
	{
		name:  FieldExplorationRate,
		parse: numberIn(FieldExplorationRate, 0, config.MaxExplorationRate, false),
		get:   func(d *config.DSP, g config.Shaping) any { return d.ShapingFor(g).ExplorationRate },
		set:   func(d *config.DSP, raw json.RawMessage) { d.ExplorationRate = decodeFloatPtr(raw) },
	},
	{
		name: FieldEnabled,
		parse: func(raw json.RawMessage) (json.RawMessage, error) {
			var b *bool
			if err := strictDecode(raw, &b); err != nil || b == nil {
				return nil, fieldErr(FieldEnabled, "must be true or false, got %s", show(raw))
			}
			return canonical(*b), nil
		},
		get: func(d *config.DSP, _ config.Shaping) any { return d.Enabled },
		set: func(d *config.DSP, raw json.RawMessage) { _ = json.Unmarshal(raw, &d.Enabled) },
	},
	{
		name: FieldQPSLimit,
		parse: func(raw json.RawMessage) (json.RawMessage, error) {
			var f *float64
			if err := strictDecode(raw, &f); err != nil || f == nil || *f != math.Trunc(*f) || *f < 0 || *f > maxQPSLimit {
				return nil, fieldErr(FieldQPSLimit, "must be a whole number in [0, %d] (0: no cap), got %s", maxQPSLimit, show(raw))
			}
			return canonical(int(*f)), nil
		},
		get: func(d *config.DSP, _ config.Shaping) any { return d.QPSLimit },
		set: func(d *config.DSP, raw json.RawMessage) { _ = json.Unmarshal(raw, &d.QPSLimit) },
	},
	{
		name: FieldMode,
		parse: func(raw json.RawMessage) (json.RawMessage, error) {
			var s *string
			modes := []string{config.ModeFilter, config.ModeShadow, config.ModeOff}
			if err := strictDecode(raw, &s); err != nil || s == nil || !slices.Contains(modes, *s) {
				return nil, fieldErr(FieldMode, "must be \"filter\", \"shadow\" or \"off\", got %s", show(raw))
			}
			return canonical(*s), nil
		},
		get: func(d *config.DSP, g config.Shaping) any { return d.ShapingFor(g).Mode },
		set: func(d *config.DSP, raw json.RawMessage) {
			var s string
			_ = json.Unmarshal(raw, &s)
			d.Mode = &s
		},
	},
}

// fieldNames lists the fields in their documented order, for messages.
func fieldNames() []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

func fieldByName(name string) (*field, bool) {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i], true
		}
	}
	return nil, false
}

// numberIn checks a number in [lo, hi]; nullable also accepts null.
func numberIn(name string, lo, hi float64, nullable bool) func(json.RawMessage) (json.RawMessage, error) {
	return func(raw json.RawMessage) (json.RawMessage, error) {
		var f *float64
		err := strictDecode(raw, &f)
		switch {
		case err == nil && f == nil && nullable:
			return json.RawMessage("null"), nil
		case err != nil || f == nil:
			what := "a number"
			if nullable {
				what = "a number or null"
			}
			return nil, fieldErr(name, "must be %s in [%g, %g], got %s", what, lo, hi, show(raw))
		case !(*f >= lo && *f <= hi):
			return nil, fieldErr(name, "must be in [%g, %g], got %s", lo, hi, show(raw))
		}
		return canonical(*f), nil
	}
}

func strictDecode(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func canonical(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("admin: marshal a plain value: " + err.Error())
	}
	return b
}

func decodeFloatPtr(raw json.RawMessage) *float64 {
	var f *float64
	_ = json.Unmarshal(raw, &f)
	return f
}

// show quotes a client's value for an error message, shortened.
func show(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
