// Package offline writes labelled bid logs without a network: every DSP of the profiles
// is offered every imp of generated traffic, and its answer is drawn from its profile
// exactly as the HTTP simulator would draw it for the same request (dsp/sim's DrawRequest
// and DrawBid). Rows carry the gateway's features (features.Extract) and true_p.
//
// Units: ts in Unix ms of simulated time; prices in CPM (USD); latency in ms. Run uses
// one goroutine to generate and one to write.
package offline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/rnd"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Config is one offline simulation.
type Config struct {
	Profiles       *sim.Profiles
	OutDir         string
	RequestsPerDay int
	Start          time.Time // the first simulated day (its UTC midnight)
	Days           int
	Seed           uint64 // draws the requests and the outcomes
	// Writer tunes the bid-log files; a zero FileSpan becomes a day, so that no file
	// crosses a UTC day boundary.
	Writer bidlog.WriterOptions
	// Progress, when set, is called now and then with the requests done and the total.
	Progress func(done, total int64)
}

// DSPSummary counts one DSP's rows.
type DSPSummary struct {
	Name     string
	Rows     int64
	Bids     int64
	NoBids   int64
	Timeouts int64
	Errors   int64
	Wins     int64
	SumTrueP float64 // sum of true_p over the rows: its expected number of bids
	SpendCPM float64 // sum of clearing prices of its wins
}

// BidRate is the share of rows with a bid.
func (d DSPSummary) BidRate() float64 { return ratio(float64(d.Bids), d.Rows) }

// MeanTrueP is the mean true_p of the rows.
func (d DSPSummary) MeanTrueP() float64 { return ratio(d.SumTrueP, d.Rows) }

func ratio(x float64, n int64) float64 {
	if n == 0 {
		return 0
	}
	return x / float64(n)
}

// Summary is what a run wrote.
type Summary struct {
	Requests int64
	Imps     int64
	Rows     int64
	DSPs     []DSPSummary // in profile order
	Files    int
	Bytes    int64
	Elapsed  time.Duration
}

const batchRows = 8192

// Run simulates cfg.Days days of cfg.RequestsPerDay requests each and writes the rows
// into cfg.OutDir. On cancellation it publishes the rows written so far and returns the
// context's error with the summary of what was written.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.Profiles == nil || len(cfg.Profiles.DSPs) == 0 {
		return nil, errors.New("no DSPs in the profiles")
	}
	if cfg.RequestsPerDay < 0 || cfg.Days < 0 {
		return nil, errors.New("negative requests or days")
	}
	wopts := cfg.Writer
	if wopts.FileSpan == 0 {
		wopts.FileSpan = 24 * time.Hour
	}
	w, err := bidlog.NewWriter(cfg.OutDir, wopts)
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	s := newSim(cfg)

	// The generator fills batches; the writer goroutine writes them. Two batches in
	// flight bound the memory.
	full := make(chan *batch, 2)
	free := make(chan *batch, 3)
	for range 3 {
		free <- newBatch()
	}
	werr := make(chan error, 1)
	go func() {
		var err error
		for b := range full {
			if err == nil {
				err = w.Write(b.rows[:b.n])
			}
			b.n = 0
			free <- b
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		werr <- err
	}()

	genErr := s.run(ctx, full, free)
	close(full)
	err = <-werr
	sum := s.summary()
	st := w.Stats()
	sum.Files, sum.Bytes, sum.Elapsed = st.Files, st.Bytes, time.Since(begin)
	if err != nil {
		return sum, fmt.Errorf("write bid log: %w", err)
	}
	return sum, genErr
}

type batch struct {
	rows  []bidlog.Row
	trueP []float64 // backing store of the rows' TrueP pointers
	n     int
}

func newBatch() *batch {
	b := &batch{rows: make([]bidlog.Row, batchRows), trueP: make([]float64, batchRows)}
	for i := range b.rows {
		b.rows[i].TrueP = &b.trueP[i]
	}
	return b
}

type simulator struct {
	cfg   Config
	dsps  []*sim.DSP
	gen   *traffic.Generator
	stats []DSPSummary
	sum   Summary

	// Per request and imp scratch, reused.
	fates []sim.Fate
	lats  []float64
	evals []sim.Eval
	price []float64
	bid   []bool
}

func newSim(cfg Config) *simulator {
	n := len(cfg.Profiles.DSPs)
	s := &simulator{
		cfg:   cfg,
		dsps:  cfg.Profiles.DSPs,
		gen:   traffic.New(cfg.Profiles.Traffic, cfg.Seed),
		stats: make([]DSPSummary, n),
		fates: make([]sim.Fate, n),
		lats:  make([]float64, n),
		evals: make([]sim.Eval, n),
		price: make([]float64, n),
		bid:   make([]bool, n),
	}
	for i, d := range s.dsps {
		s.stats[i].Name = d.Name
	}
	return s
}

func (s *simulator) summary() *Summary {
	sum := s.sum
	sum.DSPs = append([]DSPSummary(nil), s.stats...)
	return &sum
}

func (s *simulator) run(ctx context.Context, full, free chan *batch) error {
	total := int64(s.cfg.RequestsPerDay) * int64(s.cfg.Days)
	day0 := s.cfg.Start.UTC().Truncate(24 * time.Hour)
	b := <-free
	for d := range s.cfg.Days {
		for t := range traffic.DayTimes(day0.AddDate(0, 0, d), s.cfg.RequestsPerDay) {
			if s.sum.Requests%1024 == 0 {
				if err := ctx.Err(); err != nil {
					full <- b
					return err
				}
				if s.cfg.Progress != nil {
					s.cfg.Progress(s.sum.Requests, total)
				}
			}
			req := s.gen.Next()
			s.sum.Requests++
			b = s.request(req, t, b, full, free)
		}
	}
	if s.cfg.Progress != nil {
		s.cfg.Progress(s.sum.Requests, total)
	}
	full <- b
	return nil
}

// request draws every DSP's answer to one request and appends its rows.
func (s *simulator) request(req *openrtb2.BidRequest, t time.Time, b *batch, full, free chan *batch) *batch {
	seed := s.cfg.Seed
	tmax := int(req.TMax)
	if tmax <= 0 {
		tmax = features.DefaultTMaxMS
	}
	for i, d := range s.dsps {
		s.fates[i], s.lats[i] = d.DrawRequest(seed, req.ID, tmax)
	}
	ts := t.UnixMilli()
	for k := range req.Imp {
		imp := &req.Imp[k]
		s.sum.Imps++
		raw := features.Extract(req, imp, t, nil)
		a := sim.ParseAttrs(req, imp, t)
		for i, d := range s.dsps {
			s.evals[i] = d.Evaluate(&a)
			s.bid[i] = false
			if s.fates[i] == sim.Answered {
				s.price[i], s.bid[i] = d.DrawBid(seed, req.ID, imp.ID, &a, &s.evals[i])
			}
		}
		winner, clear := auction(seed, req.ID, imp.ID, a.Floor, s.price, s.bid)
		for i, d := range s.dsps {
			if b.n == len(b.rows) {
				full <- b
				b = <-free
			}
			r := &b.rows[b.n]
			tp := r.TrueP
			*r = bidlog.Row{
				TS: ts, RequestID: req.ID, ImpID: imp.ID, DSP: d.Name,
				Decision: bidlog.DecisionSent, Propensity: 1,
				LatencyMS: s.lats[i],
				TrueP:     tp,
			}
			r.SetFeatures(&raw)
			*tp = s.evals[i].TrueP
			st := &s.stats[i]
			st.Rows++
			st.SumTrueP += s.evals[i].TrueP
			switch {
			case s.fates[i] == sim.TimedOut:
				r.Outcome = bidlog.OutcomeTimeout
				st.Timeouts++
			case s.fates[i] == sim.Failed:
				r.Outcome = bidlog.OutcomeError
				st.Errors++
			case s.bid[i]:
				r.Outcome = bidlog.OutcomeBid
				r.BidCPM = s.price[i]
				st.Bids++
				if i == winner {
					r.Won, r.ClearCPM = true, clear
					st.Wins++
					st.SpendCPM += clear
				}
			default:
				r.Outcome = bidlog.OutcomeNoBid
				st.NoBids++
			}
			b.n++
			s.sum.Rows++
		}
	}
	return b
}

// auction runs the second-price auction of docs/DESIGN.md ("Second-price auction") among the bids of one imp: the
// highest bid wins (ties broken by a draw seeded from the request and imp ids) and pays
// max(floor, second + 0.01), with no second bid max(floor, 0.01), never more than its
// bid; prices handled in integer micros. It returns the winner's index, or -1.
func auction(seed uint64, requestID, impID string, floor float64, price []float64, bid []bool) (int, float64) {
	winner, second := -1, int64(-1)
	var best int64
	ties := 0
	var tie rnd.Stream
	for i, ok := range bid {
		if !ok {
			continue
		}
		p := micros(price[i])
		switch {
		case winner < 0 || p > best:
			if winner >= 0 {
				second = best
			}
			winner, best, ties = i, p, 1
		case p == best:
			// Reservoir choice among the tied: each keeps the lead with equal chance.
			if ties == 1 {
				tie = rnd.New(rnd.String(rnd.String(rnd.Hash(seed), requestID), impID))
			}
			ties++
			second = best
			if tie.IntN(ties) == 0 {
				winner = i
			}
		case p > second:
			second = p
		}
	}
	if winner < 0 {
		return -1, 0
	}
	pay := micros(floor)
	if second >= 0 {
		pay = max(pay, second+10_000)
	} else {
		pay = max(pay, 10_000)
	}
	pay = min(pay, best)
	return winner, float64(pay) / 1e6
}

func micros(cpm float64) int64 { return int64(cpm*1e6 + 0.5) }
