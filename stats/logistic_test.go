package stats

import (
	"math"
	"testing"
)

func TestLogistic(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{0, 0.5},
		{math.Log(3), 0.75},
		{-math.Log(3), 0.25},
		{800, 1},  // e^-800 underflows: no NaN
		{-800, 0}, // e^800 would overflow in the naive form
	} {
		if got := Logistic(c.x); math.Abs(got-c.want) > 1e-15 || math.IsNaN(got) {
			t.Errorf("Logistic(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}
