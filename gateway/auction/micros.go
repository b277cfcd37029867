package auction

import (
	"math"
	"strconv"
)

// Micros is an amount in millionths of a currency unit (CPM prices: 0.91 CPM = 910_000).
type Micros int64

// Amount limits.
const (
	MicrosPerUnit Micros = 1_000_000
	// Increment is what a winner pays above the second price: 0.01.
	Increment Micros = 10_000
	// MaxPrice is the highest believable CPM, 100,000 units; a higher bid is a lie.
	MaxPrice Micros = 100_000 * MicrosPerUnit
)

// FromFloat converts a CPM amount to Micros, rounding to the nearest micro. It reports
// false for NaN, infinities and amounts beyond ±MaxPrice.
func FromFloat(f float64) (Micros, bool) {
	if math.IsNaN(f) || math.Abs(f) > float64(MaxPrice/MicrosPerUnit) {
		return 0, false
	}
	return Micros(math.Round(f * float64(MicrosPerUnit))), true
}

// Float returns the amount as a float CPM, for JSON and logs.
func (m Micros) Float() float64 { return float64(m) / float64(MicrosPerUnit) }

// String formats the amount in decimal with up to six places and no trailing zeros:
// 910000 is "0.91", 1000000 is "1".
func (m Micros) String() string { return string(m.AppendText(nil)) }

// AppendText appends the String form to b.
func (m Micros) AppendText(b []byte) []byte {
	u := uint64(m)
	if m < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/uint64(MicrosPerUnit), 10)
	frac := u % uint64(MicrosPerUnit)
	if frac == 0 {
		return b
	}
	var d [7]byte
	d[0] = '.'
	for i := 6; i >= 1; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 7
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}

// Adjustment is a bid-adjustment multiplier in parts per million (1.0 = 1_000_000).
type Adjustment int64

// NoAdjustment leaves prices as they are.
const NoAdjustment Adjustment = 1_000_000

// AdjustmentFromFloat converts a multiplier such as 0.85 to an Adjustment. A multiplier
// that is not > 0 gives NoAdjustment (config validation refuses those).
func AdjustmentFromFloat(f float64) Adjustment {
	if !(f > 0) || math.IsInf(f, 0) {
		return NoAdjustment
	}
	return Adjustment(math.Round(f * 1e6))
}

// apply returns m times the adjustment, rounded to the nearest micro.
func (a Adjustment) apply(m Micros) (Micros, bool) {
	if a == NoAdjustment {
		return m, true
	}
	return mulDiv(m, int64(a), int64(NoAdjustment))
}

// undo returns m divided by the adjustment, rounded to the nearest micro.
func (a Adjustment) undo(m Micros) (Micros, bool) {
	if a == NoAdjustment {
		return m, true
	}
	return mulDiv(m, int64(NoAdjustment), int64(a))
}
