package loadtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Ramp steps the rate from From to To by Step and finds the highest rate that holds both
// criteria. Every step sends the same requests (Config.Seed), To x Config.Duration of them,
// so a step lasts Config.Duration x To/rate: the fastest one Config.Duration, the first one
// longest. The bid shares of the steps are then shares of the same auctions, and a fall
// is the gateway's, not the draw's: with a fresh draw per step, two draws of 7,500
// requests differ by about 2.4% (relative, one standard deviation, at a 32% share), near
// the 3% tolerance, and the ramp stopped at rates that held. The criteria:
//   - latency: at most 1% of the auctions not shed are late (Result.LateShare), late
//     meaning not answered within Config.LatencyBound (by default the request's tmax):
//     the p99 of the accepted auctions, timeouts and drops counted as infinite, is within
//     the bound;
//   - revenue: the share of auctions answered with a bid does not fall more than
//     Tolerance (relative) below the share of the first step.
//
// The ramp stops at the first step that fails.
type Ramp struct {
	From, To, Step float64
	Tolerance      float64 // relative; 0.03 when 0
}

// maxLateShare is the share of late auctions that a step may have: p99.
const maxLateShare = 0.01

// ParseRamp reads FROM:TO:STEP (requests per second).
func ParseRamp(s string) (Ramp, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Ramp{}, fmt.Errorf("ramp %q is not FROM:TO:STEP", s)
	}
	var v [3]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 {
			return Ramp{}, fmt.Errorf("ramp %q: %q is not a positive rate", s, p)
		}
		v[i] = f
	}
	if v[1] < v[0] {
		return Ramp{}, fmt.Errorf("ramp %q: TO is below FROM", s)
	}
	return Ramp{From: v[0], To: v[1], Step: v[2]}, nil
}

// Step is one step of a ramp.
type Step struct {
	QPS       float64 `json:"qps"`
	BidShare  float64 `json:"bid_share"`  // auctions with a bid / scheduled
	LateShare float64 `json:"late_share"` // late or dropped / scheduled not shed
	ShedShare float64 `json:"shed_share"`
	Holds     bool    `json:"holds"`
	Why       string  `json:"why,omitempty"` // the criteria it fails
	Result    *Result `json:"result"`
}

// RampResult is a ramp's steps and its answer.
type RampResult struct {
	Tolerance    float64 `json:"revenue_tolerance"`
	LatencyBound string  `json:"latency_bound"` // "tmax" or a duration
	Steps        []Step  `json:"steps"`
	// Best is the highest rate that holds (0: none does); Knee the first that fails (0:
	// every step holds).
	Best float64 `json:"best_qps"`
	Knee float64 `json:"knee_qps"`
}

// RunRamp runs the ramp of cfg's traffic (cfg.QPS is ignored). each, when set, is called
// after every step.
func RunRamp(ctx context.Context, cfg Config, r Ramp, each func(Step)) (*RampResult, error) {
	if r.From <= 0 || r.Step <= 0 || r.To < r.From {
		return nil, errors.New("ramp needs 0 < FROM <= TO and STEP > 0")
	}
	if r.Tolerance <= 0 {
		r.Tolerance = 0.03
	}
	out := &RampResult{Tolerance: r.Tolerance, LatencyBound: rampLatency(cfg.LatencyBound)}
	fastest := cfg.Duration
	for i := 0; ; i++ {
		qps := r.From + float64(i)*r.Step
		if qps > r.To*(1+1e-9) {
			return out, nil
		}
		cfg.QPS, cfg.Duration = qps, time.Duration(float64(fastest)*r.To/qps)
		res, err := Run(ctx, cfg)
		if err != nil {
			return out, fmt.Errorf("ramp step %g/s: %w", qps, err)
		}
		st := Step{QPS: qps, BidShare: res.BidShare(), LateShare: res.LateShare(), ShedShare: res.ShedShare(), Result: res}
		var why []string
		if st.LateShare > maxLateShare {
			why = append(why, fmt.Sprintf("%.1f%% late (over %s)", 100*st.LateShare, out.LatencyBound))
		}
		if len(out.Steps) > 0 {
			if first := out.Steps[0].BidShare; st.BidShare < first*(1-r.Tolerance) {
				why = append(why, fmt.Sprintf("bid share %.2f%% < %.2f%% - %g%%", 100*st.BidShare, 100*first, 100*r.Tolerance))
			}
		}
		st.Holds, st.Why = len(why) == 0, strings.Join(why, "; ")
		out.Steps = append(out.Steps, st)
		if each != nil {
			each(st)
		}
		if !st.Holds {
			out.Knee = qps
			return out, nil
		}
		out.Best = qps
	}
}

// rampLatency names a latency bound for humans.
func rampLatency(d time.Duration) string {
	if d <= 0 {
		return "tmax"
	}
	return d.String()
}
