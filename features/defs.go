package features

import (
	"math"
	"strconv"
)

// DefaultDefs is the feature table of this build: every model input, in model order. It
// is the one list to edit when adding or changing an input; doc.go says how. Each call
// returns a fresh slice, which a test may extend and pass to NewTable.
func DefaultDefs() []Def {
	return []Def{
		{Name: DSPInput, Kind: Categorical, Column: DSPInput},
		str("country", func(r *Raw) string { return r.Country }),
		str("region", func(r *Raw) string { return r.Region }),
		str("device_type", func(r *Raw) string { return r.DeviceType }),
		str("os", func(r *Raw) string { return r.OS }),
		str("browser", func(r *Raw) string { return r.Browser }),
		str("connection", func(r *Raw) string { return r.Connection }),
		str("channel", func(r *Raw) string { return r.Channel }),
		str("domain", func(r *Raw) string { return r.Domain }),
		str("publisher", func(r *Raw) string { return r.Publisher }),
		str("category", func(r *Raw) string { return r.Category }),
		str("format", func(r *Raw) string { return r.Format }),
		str("position", func(r *Raw) string { return r.Position }),
		{Name: "user_id", Kind: Categorical, Column: "user_id", Tokens: boolTokens,
			Enum: func(r *Raw) int { return boolIndex(r.UserID) }},
		{Name: "hour_utc", Kind: Categorical, Column: "hour_utc", Tokens: IntTokens(24),
			Enum: func(r *Raw) int { return int(r.HourUTC) }},
		{Name: "day_of_week", Kind: Categorical, Column: "day_of_week", Tokens: IntTokens(7),
			Enum: func(r *Raw) int { return int(r.DayOfWeek) }},
		{Name: "log_floor", Kind: Continuous, Column: "floor_cpm", Value: LogFloor},
		{Name: "imp_count", Kind: Continuous, Column: "imp_count",
			Value: func(r *Raw) float64 { return float64(r.ImpCount) }},
		{Name: "tmax_ms", Kind: Continuous, Column: "tmax_ms",
			Value: func(r *Raw) float64 { return float64(r.TMaxMS) }},
	}
}

// str declares a categorical input whose token is a string column of the same name.
func str(name string, f func(r *Raw) string) Def {
	return Def{Name: name, Kind: Categorical, Column: name, Str: f}
}

// boolTokens are the tokens of a boolean Enum input: index 0 is false.
var boolTokens = []string{"false", "true"}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// IntTokens returns the tokens "0" to "n-1" of an Enum input that takes the integers
// below n.
func IntTokens(n int) []string {
	t := make([]string, n)
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}

// LogFloor is the log_floor input: ln(1 + floor_cpm), 0 for a floor that is not a
// positive finite number.
func LogFloor(r *Raw) float64 {
	floor := r.FloorCPM
	if !(floor > 0) || math.IsInf(floor, 0) {
		floor = 0
	}
	return math.Log1p(floor)
}

// std is the table of DefaultDefs, which the package-level functions use.
var std = mustTable(DefaultDefs())

func mustTable(defs []Def) *Table {
	t, err := NewTable(defs)
	if err != nil {
		panic(err) // DefaultDefs is fixed at build time; TestDefaultTable checks it
	}
	return t
}

// Default returns the table of this build (DefaultDefs), the one serving and training use.
func Default() *Table { return std }
