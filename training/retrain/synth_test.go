package retrain

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/training"
	"github.com/bidsieve/bidsieve/training/internal/synthlog"
)

// logSpec describes a synthetic gateway log: days of perDay requests offered to alpha
// (bids on video, in the USA, on publishers ending in 7, less on high floors) and bravo
// (bids on apps). Like the gateway's own log once it filters: a row whose true bid
// probability is below lowP was below the champion's threshold, so it is explored with
// propensity explore (labelled, weight 1/explore) or filtered (no label); the others are
// sent (propensity 1).
type logSpec struct {
	start        time.Time
	days, perDay int
	seed         uint64
	lowP         float64
	explore      float64
	// shuffleDays are the first days whose outcomes are shuffled among each DSP's labelled
	// rows: the same bid rate, no signal.
	shuffleDays int
	// dsps are the DSPs offered (default alpha and bravo).
	dsps []string
}

var synthStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// alpha is the synthetic alpha's bid probability.
var alpha = synthlog.Alpha{Bias: -2.2, USA: 1.2, Video: 1.8, Pub7: 1.5, Floor: 1.0}

func trueP(dsp string, r *bidlog.Row) float64 {
	switch dsp {
	case "alpha":
		return alpha.P(r)
	case "bravo":
		if r.Channel != "app" {
			return 0.01
		}
		return 0.3
	default: // charlie and others: banners on desktop
		if r.DeviceType == "desktop" && r.Format == "300x250" {
			return 0.4
		}
		return 0.02
	}
}

func writeLogs(t testing.TB, dir string, s logSpec) {
	t.Helper()
	if s.dsps == nil {
		s.dsps = []string{"alpha", "bravo"}
	}
	dsps := make([]synthlog.DSP, len(s.dsps))
	for i, name := range s.dsps {
		dsps[i] = synthlog.DSP{Name: name, P: func(r *bidlog.Row) float64 { return trueP(name, r) }}
	}
	synthlog.Write(t, dir, synthlog.Spec{
		Start: s.start, Days: s.days, PerDay: s.perDay, Seed: s.seed, Stream: 91, Publishers: 30, DSPs: dsps,
		Decide: func(rng *rand.Rand, p float64) (string, float64) {
			if p >= s.lowP {
				return bidlog.DecisionSent, 1
			}
			if rng.Float64() < s.explore {
				return bidlog.DecisionExplored, s.explore
			}
			return bidlog.DecisionFiltered, s.explore
		},
		EndDay: func(rng *rand.Rand, day int, rows []bidlog.Row) {
			if day < s.shuffleDays {
				shuffleOutcomes(rng, rows)
			}
		},
	})
}

// shuffleOutcomes permutes the outcomes among each DSP's labelled rows, DSP by DSP in
// name order (ranging over the map would draw in a new order each run).
func shuffleOutcomes(rng *rand.Rand, rows []bidlog.Row) {
	idx := map[string][]int{}
	for i := range rows {
		if rows[i].Labelled() {
			idx[rows[i].DSP] = append(idx[rows[i].DSP], i)
		}
	}
	for _, dsp := range slices.Sorted(maps.Keys(idx)) {
		is := idx[dsp]
		out := make([]string, len(is))
		for k, i := range is {
			out[k] = rows[i].Outcome
		}
		rng.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
		for k, i := range is {
			rows[i].Outcome = out[k]
		}
	}
}

// smallTrain trains a small network in a second or two.
func smallTrain() training.Options {
	return training.Options{Seed: 3, MaxEpochs: 4, MinNegatives: 500, RecallTarget: 0.9,
		Net: training.NetConfig{Hidden: []int{16, 8}, BatchSize: 64, LearningRate: 3e-3}}
}
