package baseline

import (
	"fmt"
	"sort"

	"github.com/bidsieve/bidsieve/modelfile"
)

// DefaultHistPrior is the number of pseudo-rows with which each level of the historical
// bid rate is shrunk towards the level above it.
const DefaultHistPrior = 10

type histKey struct {
	dsp, publisher, format string
}

type histCount struct{ rows, bids float64 }

// HistRate counts rows and bids by (DSP), (DSP, publisher) and (DSP, publisher, format).
type HistRate struct {
	prior  float64
	levels [3]map[histKey]*histCount
}

// NewHistRate returns an empty counter; prior <= 0 means DefaultHistPrior.
func NewHistRate(prior float64) *HistRate {
	if prior <= 0 {
		prior = DefaultHistPrior
	}
	h := &HistRate{prior: prior}
	for i := range h.levels {
		h.levels[i] = make(map[histKey]*histCount)
	}
	return h
}

func (h *HistRate) count(level int, k histKey, bid bool, w float64) {
	c := h.levels[level][k]
	if c == nil {
		c = &histCount{}
		h.levels[level][k] = c
	}
	c.rows += w
	if bid {
		c.bids += w
	}
}

// Add counts one row with weight w.
func (h *HistRate) Add(dsp, publisher, format string, bid bool, w float64) {
	h.count(0, histKey{dsp: dsp}, bid, w)
	h.count(1, histKey{dsp: dsp, publisher: publisher}, bid, w)
	h.count(2, histKey{dsp, publisher, format}, bid, w)
}

// Model returns the counts for the model file, sorted by level and key.
func (h *HistRate) Model() *modelfile.HistRate {
	m := &modelfile.HistRate{Prior: h.prior}
	for level, cells := range h.levels {
		for k, c := range cells {
			m.Cells = append(m.Cells, modelfile.HistCell{Level: level, DSP: k.dsp, Publisher: k.publisher,
				Format: k.format, Rows: c.rows, Bids: c.bids})
		}
	}
	sort.Slice(m.Cells, func(a, b int) bool {
		x, y := m.Cells[a], m.Cells[b]
		if x.Level != y.Level {
			return x.Level < y.Level
		}
		if x.DSP != y.DSP {
			return x.DSP < y.DSP
		}
		if x.Publisher != y.Publisher {
			return x.Publisher < y.Publisher
		}
		return x.Format < y.Format
	})
	return m
}

// HistScorer scores with stored counts. It is immutable and safe for concurrent use.
type HistScorer struct {
	prior  float64
	levels [3]map[histKey]histCount
	global float64
}

// NewHistScorer builds a scorer from a model file's counts.
func NewHistScorer(m *modelfile.HistRate) (*HistScorer, error) {
	if !(m.Prior > 0) {
		return nil, fmt.Errorf("historical bid rate: prior %v must be positive", m.Prior)
	}
	s := &HistScorer{prior: m.Prior}
	for i := range s.levels {
		s.levels[i] = make(map[histKey]histCount)
	}
	var rows, bids float64
	for _, c := range m.Cells {
		if c.Level < 0 || c.Level > 2 {
			return nil, fmt.Errorf("historical bid rate: cell of level %d", c.Level)
		}
		s.levels[c.Level][histKey{c.DSP, c.Publisher, c.Format}] = histCount{c.Rows, c.Bids}
		if c.Level == 0 {
			rows += c.Rows
			bids += c.Bids
		}
	}
	s.global = (bids + 1) / (rows + 2)
	return s, nil
}

// Score is the shrunk bid rate of (dsp, publisher, format): a DSP never seen gets the
// overall rate of the window.
func (s *HistScorer) Score(dsp, publisher, format string) float64 {
	p := s.global
	for level, k := range [3]histKey{{dsp: dsp}, {dsp: dsp, publisher: publisher}, {dsp, publisher, format}} {
		c := s.levels[level][k]
		p = (c.bids + s.prior*p) / (c.rows + s.prior)
	}
	return p
}
