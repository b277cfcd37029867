package training

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/training/baseline"
	"github.com/bidsieve/bidsieve/training/metrics"
)

// dspInfo gathers the figures of one DSP over the passes.
type dspInfo struct {
	name string
	id   int // index in windowStats.list (sorted by name)

	trainRows, trainBids int64   // labelled rows of the training days
	rate                 float64 // no-bid keep rate
	keptRows, keptBids   int64   // rows in the training sample

	valRows, valBids int64
}

// windowStats are the counts of the first pass.
type windowStats struct {
	dsps       map[string]*dspInfo
	list       []*dspInfo // by name
	unlabelled int64
	trainRows  int64
	valRows    int64
}

func (s *windowStats) dsp(name string) *dspInfo {
	d := s.dsps[name]
	if d == nil {
		d = &dspInfo{name: name}
		s.dsps[name] = d
	}
	return d
}

func (s *windowStats) finish() {
	s.list = s.list[:0]
	for _, d := range s.dsps {
		s.list = append(s.list, d)
	}
	sort.Slice(s.list, func(a, b int) bool { return s.list[a].name < s.list[b].name })
	for i, d := range s.list {
		d.id = i
	}
}

// firstPass reads the window once: it counts rows and bids per DSP, builds the feature
// spec's vocabularies and normalisation from the training days, and learns the baselines
// (FTRL online, in log order, and the historical bid rates) from the training days.
func firstPass(ctx context.Context, w *window, o *Options) (*windowStats, *features.SpecBuilder, *baseline.FTRL, *baseline.HistRate, error) {
	st := &windowStats{dsps: map[string]*dspInfo{}}
	sb := features.NewSpecBuilder()
	ftrl, err := baseline.NewFTRL(o.FTRL)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	hist := baseline.NewHistRate(0)
	o.Progress.Start("read logs (1/2)", w.totalRows())
	defer o.Progress.Finish()
	err = w.scan(ctx, func(rows []bidlog.Row) error {
		// FTRL learns the batch in order on another core meanwhile.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rows {
				r := &rows[i]
				if r.Labelled() && !w.isVal(r.TS) {
					raw := r.Features()
					ftrl.Learn(&raw, r.DSP, r.Bid(), metrics.RowWeight(r))
				}
			}
		}()
		defer wg.Wait()
		for i := range rows {
			r := &rows[i]
			if !r.Labelled() {
				st.unlabelled++
				continue
			}
			d := st.dsp(r.DSP)
			bid := r.Bid()
			if w.isVal(r.TS) {
				st.valRows++
				d.valRows++
				if bid {
					d.valBids++
				}
				continue
			}
			wt := metrics.RowWeight(r)
			raw := r.Features()
			sb.Add(&raw, r.DSP, wt)
			hist.Add(r.DSP, r.Publisher, r.Format, bid, wt)
			st.trainRows++
			d.trainRows++
			if bid {
				d.trainBids++
			}
		}
		o.Progress.Add(int64(len(rows)))
		return nil
	})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	st.finish()
	if len(st.list) > math.MaxUint16 {
		return nil, nil, nil, nil, fmt.Errorf("%d DSPs in the logs: at most %d supported", len(st.list), math.MaxUint16)
	}
	if st.trainRows == 0 {
		return nil, nil, nil, nil, fmt.Errorf("no labelled rows (sent or explored) on the training days of %s", w.dir)
	}
	if st.valRows == 0 {
		return nil, nil, nil, nil, fmt.Errorf("no labelled rows (sent or explored) on the validation day %s of %s",
			dayTime(w.valDay).Format("2006-01-02"), w.dir)
	}
	var bids int64
	for _, d := range st.list {
		bids += d.trainBids
	}
	if bids == 0 {
		return nil, nil, nil, nil, fmt.Errorf("no bids on the training days of %s: nothing to learn from", w.dir)
	}
	return st, sb, ftrl, hist, nil
}

// valSet is the validation day, encoded: every labelled row, with what the validation
// needs besides the inputs.
type valSet struct {
	ds    dataset
	key   []uint64  // request key
	dspID []uint16  // windowStats.list index (the DSP feature may be out of vocabulary)
	ftrl  []float32 // FTRL baseline's P(bid)
	hist  []float32 // historical bid rate baseline
	// sample are the rows of the early-stopping sample (every bid, the no-bids kept at the
	// DSP's rate) and sampleW their weights for the full-traffic loss (weight / rate).
	sample  []int
	sampleW []float64
}

// secondPass encodes the window with spec: the training sample (every bid, no-bids kept
// at their DSP's rate, by a seeded hash of the row's identity) and the whole validation
// day.
func secondPass(ctx context.Context, w *window, o *Options, st *windowStats, spec *features.Spec,
	ftrl *baseline.FTRL, hist *modelfile.HistRate) (*dataset, *valSet, error) {
	enc, err := features.NewEncoder(spec)
	if err != nil {
		return nil, nil, err
	}
	hs, err := baseline.NewHistScorer(hist)
	if err != nil {
		return nil, nil, err
	}
	var keptTotal int64
	for _, d := range st.list {
		keptTotal += d.trainBids + int64(float64(d.trainRows-d.trainBids)*d.rate)
	}
	nc, nk := features.NumCategorical(), features.NumContinuous()
	train := &dataset{}
	train.cats = make([]int32, 0, int(float64(keptTotal)*1.02)*nc)
	train.conts = make([]float32, 0, int(float64(keptTotal)*1.02)*nk)
	val := &valSet{}
	cats := make([]int32, nc)
	conts := make([]float32, nk)
	o.Progress.Start("read logs (2/2)", w.totalRows())
	defer o.Progress.Finish()
	err = w.scan(ctx, func(rows []bidlog.Row) error {
		for i := range rows {
			r := &rows[i]
			if !r.Labelled() {
				continue
			}
			d := st.dsps[r.DSP]
			raw := r.Features()
			enc.Encode(&raw, r.DSP, cats, conts)
			bid := r.Bid()
			wt := metrics.RowWeight(r)
			rate := d.rate
			if rate <= 0 {
				rate = 1
			}
			keep := bid || rate >= 1 || keepUniform(o.Seed, r.RequestID, r.ImpID, r.DSP) < rate
			if !w.isVal(r.TS) {
				if keep {
					train.add(cats, conts, bid, float32(wt))
					d.keptRows++
					if bid {
						d.keptBids++
					}
				}
				continue
			}
			idx := val.ds.len()
			val.ds.add(cats, conts, bid, float32(wt))
			val.key = append(val.key, metrics.RequestKey(r.RequestID))
			val.dspID = append(val.dspID, uint16(d.id))
			val.ftrl = append(val.ftrl, float32(ftrl.Predict(&raw, r.DSP)))
			val.hist = append(val.hist, float32(hs.Score(r.DSP, r.Publisher, r.Format)))
			if keep {
				sw := wt
				if !bid {
					sw /= rate
				}
				val.sample = append(val.sample, idx)
				val.sampleW = append(val.sampleW, sw)
			}
		}
		o.Progress.Add(int64(len(rows)))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return train, val, nil
}
