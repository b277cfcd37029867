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
		{Name: "country", Kind: Categorical, Column: "country"},
		{Name: "region", Kind: Categorical, Column: "region"},
		{Name: "device_type", Kind: Categorical, Column: "device_type"},
		{Name: "os", Kind: Categorical, Column: "os"},
		{Name: "browser", Kind: Categorical, Column: "browser"},
		{Name: "connection", Kind: Categorical, Column: "connection"},
		{Name: "channel", Kind: Categorical, Column: "channel"},
		{Name: "domain", Kind: Categorical, Column: "domain"},
		{Name: "publisher", Kind: Categorical, Column: "publisher"},
		{Name: "category", Kind: Categorical, Column: "category"},
		{Name: "format", Kind: Categorical, Column: "format"},
		{Name: "position", Kind: Categorical, Column: "position"},
		{Name: "user_id", Kind: Categorical, Column: "user_id", Tokens: []string{"false", "true"}},
		{Name: "hour_utc", Kind: Categorical, Column: "hour_utc", Tokens: IntTokens(24)},
		{Name: "day_of_week", Kind: Categorical, Column: "day_of_week", Tokens: IntTokens(7)},
		{Name: "log_floor", Kind: Continuous, Column: "floor_cpm", Value: LogFloor},
		{Name: "imp_count", Kind: Continuous, Column: "imp_count"},
		{Name: "tmax_ms", Kind: Continuous, Column: "tmax_ms"},
	}
}

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
