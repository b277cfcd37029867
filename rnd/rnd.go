// Package rnd is bidsieve's one deterministic hash and mixer: FNV-1a folding of strings
// and bytes, the splitmix64 finaliser and stream, and uniform draws made from them. The
// simulator's traffic, the gateway's exploration draws, training's downsampling and the
// FTRL baseline's feature hashing are all built from these pieces, written out here
// rather than taken from math/rand or hash/fnv so that the same seeds give the same
// traffic, decisions and samples with every Go release (and without an allocation on the
// hot path). A Stream belongs to one goroutine; the hash functions are pure.
package rnd

import (
	"math"
	"math/bits"
)

const (
	// FNVOffset is the FNV-1a 64-bit offset basis: the start of a hash with no seed.
	FNVOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	golden    = 0x9e3779b97f4a7c15 // splitmix64's increment, 2^64 / phi
)

// Hash starts a hash from a seed.
func Hash(seed uint64) uint64 { return Mix(seed ^ FNVOffset) }

// String folds s into the hash h (FNV-1a, with a terminator so that ("ab","c") and
// ("a","bc") differ).
func String(h uint64, s string) uint64 {
	return Byte(FNV(h, s), 0xff)
}

// FNV folds the bytes of s into the hash h (plain FNV-1a, no terminator).
func FNV(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// FNVBytes is FNV for a byte slice.
func FNVBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// Byte folds one byte into the hash h (one FNV-1a step): a separator between fields.
func Byte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// Uint64 folds v into the hash h.
func Uint64(h, v uint64) uint64 { return Mix(h ^ SplitMix(v)) }

// SplitMix is one splitmix64 step from state x: the golden increment, then Mix.
func SplitMix(x uint64) uint64 { return Mix(x + golden) }

// Mix is the splitmix64 finaliser: a bijection that spreads every input bit.
func Mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Unit maps a hash to [0, 1) through Mix.
func Unit(h uint64) float64 { return Float(Mix(h)) }

// Float maps 64 random bits to [0, 1) with their top 53 bits.
func Float(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// Stream is a splitmix64 generator. The zero value is a valid stream (seed 0).
type Stream struct{ s uint64 }

// New returns a stream seeded with seed (typically a hash).
func New(seed uint64) Stream { return Stream{s: seed} }

// Uint64 returns the next 64 random bits.
func (r *Stream) Uint64() uint64 {
	r.s += golden
	return Mix(r.s)
}

// Float64 returns a uniform number in [0, 1).
func (r *Stream) Float64() float64 { return Float(r.Uint64()) }

// IntN returns a uniform integer in [0, n); n must be positive.
func (r *Stream) IntN(n int) int {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int(hi)
}

// Norm returns a standard normal number (Box-Muller).
func (r *Stream) Norm() float64 {
	u1 := 1 - r.Float64() // (0, 1]
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Pick returns an index drawn from the cumulative weights cum (increasing, last > 0).
func (r *Stream) Pick(cum []float64) int {
	u := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > u {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}
