package retrain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/training"
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

func trueP(dsp string, r *bidlog.Row) float64 {
	switch dsp {
	case "alpha":
		x := -2.2
		if r.Country == "USA" {
			x += 1.2
		}
		if r.Format == "video" {
			x += 1.8
		}
		if r.Publisher[len(r.Publisher)-1] == '7' {
			x += 1.5
		}
		x -= 1.0 * math.Log1p(r.FloorCPM)
		return 1 / (1 + math.Exp(-x))
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
	w, err := bidlog.NewWriter(dir, bidlog.WriterOptions{FileSpan: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(s.seed, 91))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var rows []bidlog.Row
	for d := 0; d < s.days; d++ {
		first := len(rows)
		for q := 0; q < s.perDay; q++ {
			ts := s.start.Add(time.Duration(d)*24*time.Hour + time.Duration(q)*24*time.Hour/time.Duration(s.perDay))
			nImp := 1 + rng.IntN(2)
			pub := rng.IntN(30)
			base := bidlog.Row{
				TS: ts.UnixMilli(), RequestID: fmt.Sprintf("r%d-%d-%d", s.seed, d, q),
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
				for _, dsp := range s.dsps {
					r := imp
					r.DSP = dsp
					p := trueP(dsp, &r)
					r.Decision, r.Propensity = bidlog.DecisionSent, 1
					if p < s.lowP {
						r.Decision, r.Propensity = bidlog.DecisionFiltered, s.explore
						if rng.Float64() < s.explore {
							r.Decision = bidlog.DecisionExplored
						}
					}
					r.Outcome = bidlog.OutcomeNoBid
					if rng.Float64() < p {
						r.Outcome = bidlog.OutcomeBid
					}
					if r.Decision == bidlog.DecisionFiltered {
						r.Outcome = bidlog.OutcomeNotSent
					}
					rows = append(rows, r)
				}
			}
		}
		if d < s.shuffleDays {
			shuffleOutcomes(rng, rows[first:])
		}
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// shuffleOutcomes permutes the outcomes among each DSP's labelled rows.
func shuffleOutcomes(rng *rand.Rand, rows []bidlog.Row) {
	idx := map[string][]int{}
	for i := range rows {
		if rows[i].Labelled() {
			idx[rows[i].DSP] = append(idx[rows[i].DSP], i)
		}
	}
	for _, is := range idx {
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
