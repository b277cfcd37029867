// Package synthlog writes the synthetic bid logs that the training tests learn from:
// days of requests, one or two imps each, offered to DSPs whose bid probability is a
// function of the row, labelled by a seeded draw. The rows, and so the models trained on
// them, are the same on every run for the same Spec. It is imported by tests only.
package synthlog

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
)

// DSP is a DSP of the synthetic logs: its name and its bid probability given the row.
type DSP struct {
	Name string
	P    func(r *bidlog.Row) float64
}

// Alpha is the bid probability of a DSP that likes video in the USA and its favourite
// publishers (those ending in 7) and bids less on high floors: the logistic of Bias, plus
// USA, Video and Pub7 where they hold, less Floor times log(1 + floor CPM).
type Alpha struct {
	Bias, USA, Video, Pub7, Floor float64
}

// P is the bid probability of the row.
func (a Alpha) P(r *bidlog.Row) float64 {
	x := a.Bias
	if r.Country == "USA" {
		x += a.USA
	}
	if r.Format == "video" {
		x += a.Video
	}
	if r.Publisher[len(r.Publisher)-1] == '7' {
		x += a.Pub7
	}
	x -= a.Floor * math.Log1p(r.FloorCPM)
	return 1 / (1 + math.Exp(-x))
}

// Spec describes a synthetic log.
type Spec struct {
	Start        time.Time
	Days, PerDay int
	// Seed and Stream seed the draws (rand.NewPCG(Seed, Stream)); the request ids carry Seed.
	Seed, Stream uint64
	// Publishers is how many publishers (and domains) the requests come from.
	Publishers int
	// DSPs are offered every imp, in this order.
	DSPs []DSP
	// Decide gives the decision and propensity of a row offered to a DSP whose bid
	// probability is p; it may draw from rng. A row decided bidlog.DecisionFiltered is not
	// labelled (bidlog.OutcomeNotSent).
	Decide func(rng *rand.Rand, p float64) (decision string, propensity float64)
	// TrueP records each row's bid probability (bidlog.Row.TrueP).
	TrueP bool
	// EndDay, when not nil, is called with the rows of each day once the day is drawn.
	EndDay func(rng *rand.Rand, day int, rows []bidlog.Row)
}

// Write writes the log of s under dir, one file a day.
func Write(t testing.TB, dir string, s Spec) {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.Seed, s.Stream))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var rows []bidlog.Row
	for d := 0; d < s.Days; d++ {
		first := len(rows)
		for q := 0; q < s.PerDay; q++ {
			ts := s.Start.Add(time.Duration(d)*24*time.Hour + time.Duration(q)*24*time.Hour/time.Duration(s.PerDay))
			nImp := 1 + rng.IntN(2)
			pub := rng.IntN(s.Publishers)
			base := bidlog.Row{
				TS: ts.UnixMilli(), RequestID: fmt.Sprintf("r%d-%d-%d", s.Seed, d, q),
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
				for _, dsp := range s.DSPs {
					r := imp
					r.DSP = dsp.Name
					p := dsp.P(&r)
					r.Decision, r.Propensity = s.Decide(rng, p)
					r.Outcome = bidlog.OutcomeNoBid
					if rng.Float64() < p {
						r.Outcome = bidlog.OutcomeBid
					}
					if r.Decision == bidlog.DecisionFiltered {
						r.Outcome = bidlog.OutcomeNotSent
					}
					if s.TrueP {
						r.TrueP = &p
					}
					rows = append(rows, r)
				}
			}
		}
		if s.EndDay != nil {
			s.EndDay(rng, d, rows[first:])
		}
	}
	WriteRows(t, dir, bidlog.WriterOptions{FileSpan: 24 * time.Hour}, rows)
}

// WriteRows writes rows under dir with a bidlog.Writer of options o and closes it.
func WriteRows(t testing.TB, dir string, o bidlog.WriterOptions, rows []bidlog.Row) {
	t.Helper()
	w, err := bidlog.NewWriter(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
