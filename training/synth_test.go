package training

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
)

// synthDSP is a DSP of the synthetic logs: its bid probability given the row.
type synthDSP struct {
	name string
	p    func(r *bidlog.Row) float64
}

// synthDSPs: alpha likes video in the USA and its favourite publishers, bravo bids on
// apps, rare bids almost never, mute never.
var synthDSPs = []synthDSP{
	{"alpha", func(r *bidlog.Row) float64 {
		x := -2.5
		if r.Country == "USA" {
			x += 1.2
		}
		if r.Format == "video" {
			x += 1.5
		}
		if r.Publisher[len(r.Publisher)-1] == '7' {
			x += 1.5
		}
		x -= 1.2 * math.Log1p(r.FloorCPM)
		return 1 / (1 + math.Exp(-x))
	}},
	{"bravo", func(r *bidlog.Row) float64 {
		if r.Channel != "app" {
			return 0
		}
		return 0.25
	}},
	{"rare", func(*bidlog.Row) float64 { return 0.004 }},
	{"mute", func(*bidlog.Row) float64 { return 0 }},
}

// writeSynthLogs writes days of requests (perDay each, one or two imps) offered to every
// synthetic DSP, starting on start, with true_p when withTrueP. A share explored of the
// rows are explored (propensity 0.5), the others sent.
func writeSynthLogs(t testing.TB, dir string, start time.Time, days, perDay int, seed uint64, withTrueP bool, explored float64) {
	t.Helper()
	w, err := bidlog.NewWriter(dir, bidlog.WriterOptions{FileSpan: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 77))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var rows []bidlog.Row
	for d := 0; d < days; d++ {
		for q := 0; q < perDay; q++ {
			ts := start.Add(time.Duration(d)*24*time.Hour + time.Duration(q)*24*time.Hour/time.Duration(perDay))
			nImp := 1 + rng.IntN(2)
			pub := rng.IntN(40)
			base := bidlog.Row{
				TS: ts.UnixMilli(), RequestID: fmt.Sprintf("r%d-%d-%d", seed, d, q),
				Raw: features.Raw{
					Country: pick("USA", "GBR", "DEU"), DeviceType: pick("phone", "desktop"), OS: pick("ios", "android"),
					Channel: pick("site", "app"), Publisher: fmt.Sprintf("pub%02d", pub), Domain: fmt.Sprintf("d%02d.example", pub),
					UserID: rng.IntN(2) == 0, HourUTC: int32(ts.UTC().Hour()), DayOfWeek: int32(ts.UTC().Weekday()),
					ImpCount: int32(nImp), TMaxMS: 200,
				},
			}
			for i := 0; i < nImp; i++ {
				imp := base
				imp.ImpID = fmt.Sprint(i + 1)
				imp.Format = pick("300x250", "video", "native")
				imp.FloorCPM = math.Round(math.Exp(rng.NormFloat64()-1)*100) / 100
				for _, dsp := range synthDSPs {
					r := imp
					r.DSP = dsp.name
					r.Decision, r.Propensity = bidlog.DecisionSent, 1
					if rng.Float64() < explored {
						r.Decision, r.Propensity = bidlog.DecisionExplored, 0.5
					}
					p := dsp.p(&r)
					r.Outcome = bidlog.OutcomeNoBid
					if rng.Float64() < p {
						r.Outcome = bidlog.OutcomeBid
					}
					if withTrueP {
						r.TrueP = &p
					}
					rows = append(rows, r)
				}
			}
		}
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

var synthStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// smallOptions trains a small network quickly.
func smallOptions(dir string) Options {
	return Options{LogDir: dir, Seed: 3, MaxEpochs: 8, MinNegatives: 500,
		Net: NetConfig{Hidden: []int{32, 16}, BatchSize: 64, LearningRate: 3e-3}}
}
