// Package rnd holds the simulator's random numbers: a splitmix64 stream and string
// hashing, written out here rather than taken from math/rand so that the same seeds give
// the same traffic and outcomes with every Go release. A Stream belongs to one goroutine;
// the hash functions are pure.
package rnd

import (
	"math"
	"math/bits"
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Hash starts a hash from a seed.
func Hash(seed uint64) uint64 { return Mix(seed ^ fnvOffset) }

// String folds s into the hash h (FNV-1a, with a terminator so that ("ab","c") and
// ("a","bc") differ).
func String(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	h ^= 0xff
	h *= fnvPrime
	return h
}

// Uint64 folds v into the hash h.
func Uint64(h, v uint64) uint64 { return Mix(h ^ Mix(v+0x9e3779b97f4a7c15)) }

// Mix is the splitmix64 finaliser: a bijection that spreads every input bit.
func Mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Unit maps a hash to [0, 1).
func Unit(h uint64) float64 { return float64(Mix(h)>>11) / (1 << 53) }

// Stream is a splitmix64 generator. The zero value is a valid stream (seed 0).
type Stream struct{ s uint64 }

// New returns a stream seeded with seed (typically a hash).
func New(seed uint64) Stream { return Stream{s: seed} }

// Uint64 returns the next 64 random bits.
func (r *Stream) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return Mix(r.s)
}

// Float64 returns a uniform number in [0, 1).
func (r *Stream) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

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
