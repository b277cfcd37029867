// Package baseline holds the reference models the bid predictor is compared with in
// `bidsieve evaluate`: FTRL-Proximal logistic regression on hashed feature crosses, and
// the historical bid rate by (DSP, publisher, format). Both are trained in one streaming
// pass over the training rows and stored in the model file (modelfile.Baselines).
//
// Learners are not safe for concurrent use; scorers built from a model file are.
package baseline

import (
	"fmt"
	"math"
	"strconv"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/rnd"
	"github.com/bidsieve/bidsieve/stats"
)

// DefaultGroups are the FTRL feature groups: every raw feature alone, and crosses of the
// features that buyers typically combine. Each group is further crossed with the DSP.
var DefaultGroups = [][]string{
	{}, // the DSP's bias
	{"country"}, {"region"}, {"device_type"}, {"os"}, {"browser"}, {"connection"}, {"channel"},
	{"domain"}, {"publisher"}, {"category"}, {"format"}, {"position"}, {"user_id"},
	{"hour_utc"}, {"day_of_week"}, {"floor_bucket"}, {"imp_count"}, {"tmax_ms"},
	{"publisher", "format"}, {"country", "format"}, {"country", "device_type"},
	{"device_type", "format"}, {"os", "format"}, {"country", "hour_utc"}, {"user_id", "format"},
	{"floor_bucket", "format"}, {"floor_bucket", "country"}, {"channel", "format"},
}

// FTRLConfig holds FTRL-Proximal's hyper-parameters (McMahan et al., 2013). Zero fields
// get the defaults.
type FTRLConfig struct {
	Bits        int // hash space 2^Bits; 22
	Alpha, Beta float64
	L1, L2      float64
	Groups      [][]string // DefaultGroups
}

func (c FTRLConfig) withDefaults() FTRLConfig {
	if c.Bits <= 0 {
		c.Bits = 22
	}
	if c.Alpha == 0 {
		c.Alpha = 0.05
	}
	if c.Beta == 0 {
		c.Beta = 1
	}
	if c.L1 == 0 {
		c.L1 = 1
	}
	if c.L2 == 0 {
		c.L2 = 1
	}
	if c.Groups == nil {
		c.Groups = DefaultGroups
	}
	return c
}

// hasher turns a row into its hashed buckets. It is reused across rows (not allocating).
type hasher struct {
	groups [][]func(r *features.Raw, buf []byte) []byte
	mask   uint64
	idx    []uint32
	buf    []byte
}

// groupSalt is folded into the start of every group's hash (after the DSP's name); it is
// part of the stored models' bucket layout, so it stays.
const groupSalt = 0x9e3779b97f4a7c15

// valueOf returns the appender of one named feature's value: an input of the feature
// table (its token, or the decimal form of a continuous input), or floor_bucket, the log
// floor rounded to quarters.
func valueOf(name string) (func(r *features.Raw, buf []byte) []byte, bool) {
	if name == "floor_bucket" {
		return func(r *features.Raw, b []byte) []byte {
			return strconv.AppendInt(b, int64(math.Round(4*features.LogFloor(r))), 10)
		}, true
	}
	return features.Default().Appender(name)
}

func newHasher(groups [][]string, bits int) (*hasher, error) {
	h := &hasher{mask: 1<<uint(bits) - 1, buf: make([]byte, 0, 256)}
	for _, g := range groups {
		var fs []func(r *features.Raw, buf []byte) []byte
		for _, name := range g {
			f, ok := valueOf(name)
			if !ok {
				return nil, fmt.Errorf("FTRL feature group %v: unknown feature %q", g, name)
			}
			fs = append(fs, f)
		}
		h.groups = append(h.groups, fs)
	}
	h.idx = make([]uint32, len(groups))
	return h, nil
}

// buckets returns the hashed bucket of every group for (r, dsp); valid until the next call.
func (h *hasher) buckets(r *features.Raw, dsp string) []uint32 {
	base := rnd.FNV(rnd.FNVOffset, dsp)
	for gi, g := range h.groups {
		b := h.buf[:0]
		b = strconv.AppendInt(b, int64(gi), 10)
		for _, f := range g {
			b = append(b, 0x1f)
			b = f(r, b)
		}
		h.buf = b
		v := rnd.FNVBytes(base^groupSalt, b)
		h.idx[gi] = uint32(v & h.mask)
	}
	return h.idx
}

// FTRL learns a hashed logistic regression online.
type FTRL struct {
	cfg  FTRLConfig
	h    *hasher
	z, n []float32
	rows int64
}

// NewFTRL returns a learner with all weights zero.
func NewFTRL(cfg FTRLConfig) (*FTRL, error) {
	cfg = cfg.withDefaults()
	if cfg.Bits > 28 {
		return nil, fmt.Errorf("FTRL: %d hash bits is too many (at most 28)", cfg.Bits)
	}
	h, err := newHasher(cfg.Groups, cfg.Bits)
	if err != nil {
		return nil, err
	}
	size := 1 << uint(cfg.Bits)
	return &FTRL{cfg: cfg, h: h, z: make([]float32, size), n: make([]float32, size)}, nil
}

func (f *FTRL) weight(i uint32) float64 {
	z := float64(f.z[i])
	if math.Abs(z) <= f.cfg.L1 {
		return 0
	}
	sign := 1.0
	if z < 0 {
		sign = -1
	}
	return -(z - sign*f.cfg.L1) / ((f.cfg.Beta+math.Sqrt(float64(f.n[i])))/f.cfg.Alpha + f.cfg.L2)
}

// Learn updates the model with one row (label bid, importance weight w) and returns the
// prediction made before the update.
func (f *FTRL) Learn(r *features.Raw, dsp string, bid bool, w float64) float64 {
	idx := f.h.buckets(r, dsp)
	var wx float64
	var ws [64]float64
	wsl := ws[:0]
	if len(idx) > len(ws) {
		wsl = make([]float64, 0, len(idx))
	}
	for _, i := range idx {
		wi := f.weight(i)
		wsl = append(wsl, wi)
		wx += wi
	}
	p := stats.Logistic(wx)
	y := 0.0
	if bid {
		y = 1
	}
	g := (p - y) * w
	for k, i := range idx {
		ni := float64(f.n[i])
		sigma := (math.Sqrt(ni+g*g) - math.Sqrt(ni)) / f.cfg.Alpha
		f.z[i] += float32(g - sigma*wsl[k])
		f.n[i] = float32(ni + g*g)
	}
	f.rows++
	return p
}

// Predict is P(bid) for (r, dsp) under the current weights.
func (f *FTRL) Predict(r *features.Raw, dsp string) float64 {
	var wx float64
	for _, i := range f.h.buckets(r, dsp) {
		wx += f.weight(i)
	}
	return stats.Logistic(wx)
}

// Rows is the number of rows learnt.
func (f *FTRL) Rows() int64 { return f.rows }

// Model returns the learnt weights for the model file (only the non-zero ones).
func (f *FTRL) Model() *modelfile.FTRL {
	m := &modelfile.FTRL{Bits: f.cfg.Bits, Groups: f.cfg.Groups, Alpha: f.cfg.Alpha, Beta: f.cfg.Beta, L1: f.cfg.L1, L2: f.cfg.L2}
	for i := range f.z {
		if w := f.weight(uint32(i)); w != 0 {
			m.Index = append(m.Index, uint32(i))
			m.Weight = append(m.Weight, float32(w))
		}
	}
	return m
}

// FTRLScorer scores rows with a stored FTRL model. Score is safe for concurrent use when
// every goroutine has its own scorer from Clone.
type FTRLScorer struct {
	w map[uint32]float32
	h *hasher
	m *modelfile.FTRL
}

// NewFTRLScorer builds a scorer from a model file's FTRL weights.
func NewFTRLScorer(m *modelfile.FTRL) (*FTRLScorer, error) {
	if m.Bits <= 0 || m.Bits > 28 {
		return nil, fmt.Errorf("FTRL model: %d hash bits, want 1 to 28", m.Bits)
	}
	if len(m.Index) != len(m.Weight) {
		return nil, fmt.Errorf("FTRL model: %d indices for %d weights", len(m.Index), len(m.Weight))
	}
	h, err := newHasher(m.Groups, m.Bits)
	if err != nil {
		return nil, err
	}
	w := make(map[uint32]float32, len(m.Index))
	for i, k := range m.Index {
		w[k] = m.Weight[i]
	}
	return &FTRLScorer{w: w, h: h, m: m}, nil
}

// Clone returns a scorer sharing the weights, with its own scratch space.
func (s *FTRLScorer) Clone() *FTRLScorer {
	h, _ := newHasher(s.m.Groups, s.m.Bits)
	return &FTRLScorer{w: s.w, h: h, m: s.m}
}

// Score is P(bid) for (r, dsp).
func (s *FTRLScorer) Score(r *features.Raw, dsp string) float64 {
	var wx float64
	for _, i := range s.h.buckets(r, dsp) {
		wx += float64(s.w[i])
	}
	return stats.Logistic(wx)
}
