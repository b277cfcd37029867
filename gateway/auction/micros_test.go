package auction

import (
	"math"
	"testing"
)

func TestMicros(t *testing.T) {
	tests := []struct {
		in   float64
		want Micros
		str  string
		ok   bool
	}{
		{0.91, 910_000, "0.91", true},
		{1, 1_000_000, "1", true},
		{0, 0, "0", true},
		{0.0000004, 0, "0", true},
		{0.0000006, 1, "0.000001", true},
		{12.345678, 12_345_678, "12.345678", true},
		{-1.5, -1_500_000, "-1.5", true},
		{100_000, MaxPrice, "100000", true},
		{100_000.5, 0, "", false},
		{math.NaN(), 0, "", false},
		{math.Inf(1), 0, "", false},
	}
	for _, tt := range tests {
		got, ok := FromFloat(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("FromFloat(%v) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			continue
		}
		if ok && got.String() != tt.str {
			t.Errorf("Micros(%d).String() = %q, want %q", got, got.String(), tt.str)
		}
	}
}

func TestRatesConvert(t *testing.T) {
	r, err := NewRates("USD", map[string]float64{"EUR": 1.08, "JPY": 0.0067, "GBP": 1.27})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		m        Micros
		from, to string
		want     Micros
		ok       bool
	}{
		{1_000_000, "EUR", "USD", 1_080_000, true},
		{1_080_000, "USD", "EUR", 1_000_000, true},
		{1_000_000, "JPY", "USD", 6_700, true},
		{1_000_000, "GBP", "EUR", 1_175_926, true}, // 1.27/1.08 = 1.1759259..
		{1_000_000, "USD", "USD", 1_000_000, true},
		{-1_000_000, "EUR", "USD", -1_080_000, true},
		{1, "XXX", "USD", 0, false},
		{1, "USD", "XXX", 0, false},
		{math.MaxInt64, "GBP", "JPY", 0, false}, // overflow is reported, not wrapped
	}
	for _, tt := range tests {
		got, ok := r.Convert(tt.m, tt.from, tt.to)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Convert(%d, %s, %s) = %d, %v; want %d, %v", tt.m, tt.from, tt.to, got, ok, tt.want, tt.ok)
		}
	}
	if !r.Known("USD") || r.Known("usd") || r.Known("") {
		t.Error("Known: base must be known, codes are case-sensitive")
	}
	if _, err := NewRates("USD", map[string]float64{"EUR": 0}); err == nil {
		t.Error("NewRates accepted a zero rate")
	}
	var nilRates *Rates
	if _, ok := nilRates.Convert(1, "USD", "USD"); ok {
		t.Error("a nil Rates knows a currency")
	}
}
