package training

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/training/internal/synthlog"
)

// synthDSPs: alpha likes video in the USA and its favourite publishers, bravo bids on
// apps, rare bids almost never, mute never.
var synthDSPs = []synthlog.DSP{
	{Name: "alpha", P: synthlog.Alpha{Bias: -2.5, USA: 1.2, Video: 1.5, Pub7: 1.5, Floor: 1.2}.P},
	{Name: "bravo", P: func(r *bidlog.Row) float64 {
		if r.Channel != "app" {
			return 0
		}
		return 0.25
	}},
	{Name: "rare", P: func(*bidlog.Row) float64 { return 0.004 }},
	{Name: "mute", P: func(*bidlog.Row) float64 { return 0 }},
}

// writeSynthLogs writes days of requests (perDay each, one or two imps, from 40
// publishers) offered to every synthetic DSP, starting on start, with true_p when
// withTrueP. A share explored of the rows are explored (propensity 0.5), the others sent.
func writeSynthLogs(t testing.TB, dir string, start time.Time, days, perDay int, seed uint64, withTrueP bool, explored float64) {
	t.Helper()
	synthlog.Write(t, dir, synthlog.Spec{
		Start: start, Days: days, PerDay: perDay, Seed: seed, Stream: 77, Publishers: 40,
		DSPs: synthDSPs, TrueP: withTrueP,
		Decide: func(rng *rand.Rand, _ float64) (string, float64) {
			if rng.Float64() < explored {
				return bidlog.DecisionExplored, 0.5
			}
			return bidlog.DecisionSent, 1
		},
	})
}

var synthStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// smallOptions trains a small network quickly.
func smallOptions(dir string) Options {
	return Options{LogDir: dir, Seed: 3, MaxEpochs: 8, MinNegatives: 500,
		Net: NetConfig{Hidden: []int{32, 16}, BatchSize: 64, LearningRate: 3e-3}}
}
