package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// hourSet is a set of UTC hours.
type hourSet [24]bool

// parseHours reads an hour range: "a-b" (inclusive, 0 <= a <= b <= 23) or a single hour "a".
func parseHours(s string) (hourSet, error) {
	var set hourSet
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err := parseHour(lo)
	if err != nil {
		return set, fmt.Errorf("hour range %q: %w", s, err)
	}
	b := a
	if isRange {
		if b, err = parseHour(hi); err != nil {
			return set, fmt.Errorf("hour range %q: %w", s, err)
		}
	}
	if a > b {
		return set, fmt.Errorf("hour range %q: start after end (write a range that wraps midnight as two ranges, e.g. 22-23 and 0-3)", s)
	}
	for h := a; h <= b; h++ {
		set[h] = true
	}
	return set, nil
}

func parseHour(s string) (int, error) {
	h, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an hour", s)
	}
	if h < 0 || h > 23 {
		return 0, fmt.Errorf("hour %d outside 0-23", h)
	}
	return h, nil
}

// hourTable holds a value per UTC hour, built from ranges that must not overlap.
type hourTable struct {
	v       [24]float64
	covered hourSet
	keys    [24]string // the range that set each hour, for error messages
}

// set assigns x to the hours of key; it reports an hour already set by another range.
func (t *hourTable) set(key string, x float64) error {
	hs, err := parseHours(key)
	if err != nil {
		return err
	}
	for h, in := range hs {
		if !in {
			continue
		}
		if t.covered[h] {
			return fmt.Errorf("hour range %q overlaps %q at hour %d", key, t.keys[h], h)
		}
		t.covered[h], t.keys[h], t.v[h] = true, key, x
	}
	return nil
}

// fill gives x to every hour no range covers.
func (t *hourTable) fill(x float64) {
	for h := range t.v {
		if !t.covered[h] {
			t.v[h] = x
		}
	}
}
