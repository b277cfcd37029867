package simclock

import (
	"strings"
	"testing"
	"time"
)

func TestParseAndRun(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	wall := func() time.Time { return at }
	tests := []struct {
		spec  string
		start time.Time
		speed float64
	}{
		{"2024-03-01", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 1},
		{"2024-03-01,1440x", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 1440},
		{"2024-03-01T06:30:00+02:00, 60", time.Date(2024, 3, 1, 4, 30, 0, 0, time.UTC), 60},
		{"now,2x", at, 2},
	}
	for _, tt := range tests {
		c, err := Parse(tt.spec, wall)
		if err != nil {
			t.Fatalf("%q: %v", tt.spec, err)
		}
		if got := c.Now(); !got.Equal(tt.start) || c.Speed() != tt.speed {
			t.Errorf("%q: starts %v at %gx, want %v at %gx", tt.spec, got, c.Speed(), tt.start, tt.speed)
		}
	}
	// A day per at minute: 90 at seconds later, a day and a half has passed.
	c, _ := Parse("2024-03-01,1440x", wall)
	at = at.Add(90 * time.Second)
	if got, want := c.Now(), time.Date(2024, 3, 2, 12, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("after 90 s at 1440x: %v, want %v", got, want)
	}
}

func TestParseRefusesNonsense(t *testing.T) {
	for spec, want := range map[string]string{
		"":                "want START",
		"yesterday":       "is neither RFC 3339",
		"2024-03-01,fast": "speed \"fast\"",
		"2024-03-01,0x":   "must be a number in (0, 86400]",
		"2024-03-01,-5":   "must be a number",
		"2024-03-01,1e9x": "must be a number",
		"2024-13-01":      "is neither",
		"2024-03-01,NaNx": "must be a number",
	} {
		if _, err := Parse(spec, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", spec, err, want)
		}
	}
}
