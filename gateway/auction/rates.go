package auction

import (
	"fmt"
	"math"
	"math/bits"
)

// DefaultCurrency is the currency of an OpenRTB amount that names none.
const DefaultCurrency = "USD"

// ratePrecision is the fixed-point scale of a stored rate: 1e-12 of the base currency.
const ratePrecision = 1e12

// Rates converts amounts between currencies through a base currency, in integers. The zero
// value knows no currency; a nil *Rates knows none either. Safe for concurrent use.
type Rates struct {
	base string
	pico map[string]int64 // value of 1 unit of the currency in 1e-12 of the base
}

// NewRates builds the rates table: rates maps a currency code to the value of one unit of
// it in base. The base itself is always known at 1.
func NewRates(base string, rates map[string]float64) (*Rates, error) {
	r := &Rates{base: base, pico: make(map[string]int64, len(rates)+1)}
	for code, v := range rates {
		p := math.Round(v * ratePrecision)
		if !(p >= 1) || p > math.MaxInt64/2 {
			return nil, fmt.Errorf("currency rate %s = %g: out of range", code, v)
		}
		r.pico[code] = int64(p)
	}
	r.pico[base] = ratePrecision
	return r, nil
}

// Base returns the base currency.
func (r *Rates) Base() string {
	if r == nil {
		return ""
	}
	return r.base
}

// Known reports whether the currency can be converted.
func (r *Rates) Known(code string) bool {
	if r == nil {
		return false
	}
	_, ok := r.pico[code]
	return ok
}

// Convert converts m from one currency to another, rounding to the nearest micro. It
// reports false for an unknown currency or an overflow.
func (r *Rates) Convert(m Micros, from, to string) (Micros, bool) {
	if from == to {
		return m, r.Known(from)
	}
	num, den, ok := r.factors(from, to)
	if !ok {
		return 0, false
	}
	return mulDiv(m, num, den)
}

// ConvertFloat converts a float amount (an edge value: a floor for the feature extractor).
func (r *Rates) ConvertFloat(amount float64, from, to string) (float64, bool) {
	if from == to {
		return amount, r.Known(from)
	}
	num, den, ok := r.factors(from, to)
	if !ok {
		return 0, false
	}
	return amount * float64(num) / float64(den), true
}

// factors returns the rates of from and to (the numerator and denominator of a
// conversion); false when either is unknown.
func (r *Rates) factors(from, to string) (num, den int64, ok bool) {
	if r == nil {
		return 0, 0, false
	}
	num, ok1 := r.pico[from]
	den, ok2 := r.pico[to]
	return num, den, ok1 && ok2
}

// mulDiv returns m*num/den rounded half away from zero, in 128-bit intermediate precision;
// num and den must be > 0. It reports false when the result overflows.
func mulDiv(m Micros, num, den int64) (Micros, bool) {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = -u
	}
	hi, lo := bits.Mul64(u, uint64(num))
	if hi >= uint64(den) {
		return 0, false
	}
	q, rem := bits.Div64(hi, lo, uint64(den))
	if rem >= uint64(den)-rem { // rem >= den/2 without overflow
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -Micros(q), true
	}
	return Micros(q), true
}
