package loadtest

import (
	"context"
	"fmt"
)

// Side is one of the two set-ups of a comparison: where its auctions go and where its
// figures are read.
type Side struct {
	Name     string   `json:"name"`
	Targets  []string `json:"targets"`
	Metrics  string   `json:"metrics,omitempty"`   // the gateway's /metrics URL
	DSPStats string   `json:"dsp_stats,omitempty"` // dsp-sim's /stats URL
}

// Comparison is the same traffic run against two sides.
type Comparison struct {
	A       Side    `json:"a"`
	B       Side    `json:"b"`
	ResultA *Result `json:"result_a"`
	ResultB *Result `json:"result_b"`
}

// Compare runs cfg against side a, then the same requests (the same seed) against b, one
// after the other, so that a dsp-sim shared by both sides counts each side's requests
// apart. cfg's Targets, Metrics and DSPStats are replaced by each side's.
func Compare(ctx context.Context, cfg Config, a, b Side) (*Comparison, error) {
	c := &Comparison{A: a, B: b}
	for _, s := range []struct {
		side Side
		res  **Result
	}{{a, &c.ResultA}, {b, &c.ResultB}} {
		cfg.Targets, cfg.Metrics, cfg.DSPStats = s.side.Targets, s.side.Metrics, s.side.DSPStats
		res, err := Run(ctx, cfg)
		*s.res = res
		if err != nil {
			return c, fmt.Errorf("compare, side %s: %w", s.side.Name, err)
		}
	}
	return c, nil
}
