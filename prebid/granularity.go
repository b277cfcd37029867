package prebid

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/bidsieve/bidsieve/gateway/auction"
)

// Range is one range of a price granularity: prices from the previous range's Max (0 for
// the first) up to Max fall into buckets Increment wide, counted from that lower bound.
type Range struct {
	Max       auction.Micros
	Increment auction.Micros
}

// Granularity is a price granularity: how a price becomes the hb_pb bucket an ad server's
// line items target. Precision is the number of decimals the bucket is written with.
type Granularity struct {
	Precision int
	Ranges    []Range
}

// DefaultPrecision is the precision of a granularity that names none.
const DefaultPrecision = 2

// MaxPrecision is the largest precision accepted, Prebid Server's limit.
const MaxPrecision = 15

const cent = auction.MicrosPerUnit / 100

// The standard granularities, as Prebid documents them (precision 2).
var (
	// Low: 0.50 buckets up to 5.
	Low = Granularity{DefaultPrecision, []Range{{5 * auction.MicrosPerUnit, 50 * cent}}}
	// Medium: 0.10 buckets up to 20 (the default).
	Medium = Granularity{DefaultPrecision, []Range{{20 * auction.MicrosPerUnit, 10 * cent}}}
	// High: 0.01 buckets up to 20.
	High = Granularity{DefaultPrecision, []Range{{20 * auction.MicrosPerUnit, cent}}}
	// Auto: 0.05 up to 5, 0.10 up to 10, 0.50 up to 20.
	Auto = Granularity{DefaultPrecision, []Range{
		{5 * auction.MicrosPerUnit, 5 * cent},
		{10 * auction.MicrosPerUnit, 10 * cent},
		{20 * auction.MicrosPerUnit, 50 * cent},
	}}
	// Dense: 0.01 up to 3, 0.05 up to 8, 0.50 up to 20.
	Dense = Granularity{DefaultPrecision, []Range{
		{3 * auction.MicrosPerUnit, cent},
		{8 * auction.MicrosPerUnit, 5 * cent},
		{20 * auction.MicrosPerUnit, 50 * cent},
	}}
)

// GranularityByName returns the standard granularity of a name: "low", "medium" (or
// "med"), "high", "auto", "dense".
func GranularityByName(name string) (Granularity, bool) {
	switch name {
	case "low":
		return Low, true
	case "med", "medium":
		return Medium, true
	case "high":
		return High, true
	case "auto":
		return Auto, true
	case "dense":
		return Dense, true
	}
	return Granularity{}, false
}

// Validate reports what makes g unusable: a precision outside 0-15, no range, a range
// whose max does not exceed the previous one's, an increment that is not > 0.
func (g *Granularity) Validate() error {
	if g.Precision < 0 || g.Precision > MaxPrecision {
		return fmt.Errorf("price granularity: precision %d outside 0-%d", g.Precision, MaxPrecision)
	}
	if len(g.Ranges) == 0 {
		return errors.New("price granularity: no ranges")
	}
	var prev auction.Micros
	for i, r := range g.Ranges {
		if r.Max <= prev {
			return fmt.Errorf("price granularity: ranges[%d].max must exceed the previous range's max", i)
		}
		if r.Increment <= 0 {
			return fmt.Errorf("price granularity: ranges[%d].increment must be > 0", i)
		}
		prev = r.Max
	}
	return nil
}

// Bucket returns the bucket of price p: p rounded down to its range's increment, counted
// from the range's lower bound; the top range's max for a price above it. At a bound
// shared by two ranges the upper range counts, as in Prebid Server. It reports false for a
// negative price or a granularity with no range.
func (g *Granularity) Bucket(p auction.Micros) (auction.Micros, bool) {
	if p < 0 || len(g.Ranges) == 0 {
		return 0, false
	}
	top := g.Ranges[len(g.Ranges)-1]
	if p > top.Max {
		return top.Max, true
	}
	var lo auction.Micros
	r := top
	for i, x := range g.Ranges {
		if p < x.Max {
			r = x
			break
		}
		if i < len(g.Ranges)-1 {
			lo = x.Max
		}
	}
	return lo + (p-lo)/r.Increment*r.Increment, true
}

// AppendBucket appends p's bucket written with the granularity's precision ("0.50",
// "20.00"); it appends nothing when Bucket reports false.
func (g *Granularity) AppendBucket(dst []byte, p auction.Micros) []byte {
	b, ok := g.Bucket(p)
	if !ok {
		return dst
	}
	return appendFixed(dst, b, g.Precision)
}

// appendFixed appends m >= 0 with exactly prec decimals; fewer decimals than a micro's
// six round half to even (as strconv does for an exact value).
func appendFixed(dst []byte, m auction.Micros, prec int) []byte {
	u := uint64(m)
	digits := prec
	if prec < 6 {
		q := uint64(math.Pow10(6 - prec))
		r, rem := u/q, u%q
		if 2*rem > q || (2*rem == q && r%2 == 1) {
			r++
		}
		u, digits = r, prec
	} else {
		digits = 6
	}
	scale := uint64(math.Pow10(digits))
	dst = strconv.AppendUint(dst, u/scale, 10)
	if prec == 0 {
		return dst
	}
	dst = append(dst, '.')
	frac := u % scale
	for d := scale / 10; d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	for i := digits; i < prec; i++ {
		dst = append(dst, '0')
	}
	return dst
}

// granularityJSON is ext.prebid.targeting.pricegranularity in its object form. Prebid
// Server ignores each range's min (it is the previous range's max), and so does bidsieve.
type granularityJSON struct {
	Precision *int `json:"precision"`
	Ranges    []struct {
		Min       float64 `json:"min"`
		Max       float64 `json:"max"`
		Increment float64 `json:"increment"`
	} `json:"ranges"`
}

// ParseGranularity reads a pricegranularity value: a standard name, or an object
// {precision, ranges: [{max, increment}]} (min is accepted and ignored; precision
// defaults to 2; no ranges means Medium, as in Prebid Server). The result is validated.
func ParseGranularity(raw json.RawMessage) (Granularity, error) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		if g, ok := GranularityByName(name); ok {
			return g, nil
		}
		return Granularity{}, fmt.Errorf("price granularity: unknown name %q", name)
	}
	var in granularityJSON
	if err := json.Unmarshal(raw, &in); err != nil {
		return Granularity{}, fmt.Errorf("price granularity: %w", err)
	}
	if len(in.Ranges) == 0 {
		return Medium, nil
	}
	g := Granularity{Precision: DefaultPrecision, Ranges: make([]Range, len(in.Ranges))}
	if in.Precision != nil {
		g.Precision = *in.Precision
	}
	for i, r := range in.Ranges {
		maxM, ok1 := auction.FromFloat(r.Max)
		inc, ok2 := auction.FromFloat(r.Increment)
		if !ok1 || !ok2 {
			return Granularity{}, fmt.Errorf("price granularity: ranges[%d]: max or increment out of range", i)
		}
		g.Ranges[i] = Range{Max: maxM, Increment: inc}
	}
	if err := g.Validate(); err != nil {
		return Granularity{}, err
	}
	return g, nil
}
