package ips

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/predictor/serving"
)

// FilterOptions says which gateway FilterLog replays.
type FilterOptions struct {
	// InDir holds unfiltered logs (every row sent: `bidsieve simulate`, or a gateway with
	// shaping off), each request's rows together as the simulator and the gateway write
	// them.
	InDir string
	// Since and Until, when not zero, keep only the rows with Since <= ts < Until.
	Since, Until time.Time
	// OutDir receives the log the gateway would have written in filter mode.
	OutDir string
	// UnweightedDir, when not empty, receives the same log with every explored row's
	// propensity set to 1: the same labelled rows, but training and evaluation give each
	// one weight 1 (metrics.RowWeight), as if there were no inverse-propensity weights.
	UnweightedDir string
	// Champion is the model in force.
	Champion *serving.Scorer
	// RecallTarget is every DSP's shaping.recall_target; 0 means the champion's trained
	// target.
	RecallTarget float64
	// ExplorationRate is shaping.exploration_rate, ExploreSeed shaping.seed.
	ExplorationRate float64
	ExploreSeed     uint64
}

// DSPFilter counts what the replay did with one DSP's rows.
type DSPFilter struct {
	Name      string
	Threshold float64 // the threshold in force; NaN when none (sent everything)
	Rows      int64
	Sent      int64 // rows sent on their score (or unfiltered)
	Explored  int64
	Filtered  int64
	// Bids of the unfiltered log: on sent rows, on explored rows, and on filtered rows
	// (the bids the champion withheld, which the filtered log no longer shows).
	BidsSent, BidsExplored, BidsFiltered int64
}

// Recall is the champion's recall on the replayed rows: the bids of the rows it sent on
// their score (explored ones not counted) over all bids.
func (d DSPFilter) Recall() float64 {
	all := d.BidsSent + d.BidsExplored + d.BidsFiltered
	if all == 0 {
		return math.NaN()
	}
	return float64(d.BidsSent) / float64(all)
}

// Withheld is the share of the rows that the gateway did not send.
func (d DSPFilter) Withheld() float64 {
	if d.Rows == 0 {
		return math.NaN()
	}
	return float64(d.Filtered) / float64(d.Rows)
}

// FilterSummary is what FilterLog wrote.
type FilterSummary struct {
	Rows int64
	DSPs []DSPFilter // by name
}

// FilterLog turns the unfiltered log of opts.InDir into the log the gateway would have
// written in filter mode with opts.Champion: each (request, DSP) pair is scored by the
// champion through the serving scorer (predictor/serving, the gateway's), its request
// score is gateway.RequestScore of its imps, and gateway.ReplayDSP decides it as the
// gateway does: at or above the threshold sent (propensity 1); below, explored with the
// pair's seeded exploration draw at the exploration rate (propensity the rate) or
// filtered (no label: outcome not_sent, no price, no latency). A DSP the champion does
// not know, or one without a threshold, is sent everything. Every row gets the score,
// the threshold and the model version, and no true_p, as in the gateway's log. The
// auction is not run again: Won and ClearCPM of a sent row are the simulator's.
func FilterLog(ctx context.Context, opts FilterOptions) (*FilterSummary, error) {
	if opts.Champion == nil {
		return nil, errors.New("filter log: no champion model")
	}
	if !(opts.ExplorationRate >= 0 && opts.ExplorationRate <= 0.5) {
		return nil, fmt.Errorf("filter log: exploration rate %v: must be in [0, 0.5]", opts.ExplorationRate)
	}
	files, err := bidlog.ListDir(opts.InDir)
	if err != nil {
		return nil, err
	}
	file := opts.Champion.File()
	target := opts.RecallTarget
	if target == 0 {
		target = file.Meta.RecallTarget
	}
	sh := gatewayShaping(target, opts.ExplorationRate)
	fromMS, toMS := int64(math.MinInt64), int64(math.MaxInt64)
	if !opts.Since.IsZero() {
		fromMS = opts.Since.UnixMilli()
	}
	if !opts.Until.IsZero() {
		toMS = opts.Until.UnixMilli()
	}
	wopts := bidlog.WriterOptions{FileSpan: 24 * time.Hour}
	out, err := bidlog.NewWriter(opts.OutDir, wopts)
	if err != nil {
		return nil, err
	}
	var plain *bidlog.Writer
	if opts.UnweightedDir != "" {
		if plain, err = bidlog.NewWriter(opts.UnweightedDir, wopts); err != nil {
			_ = out.Close()
			return nil, err
		}
	}
	f := &filter{ctx: ctx, champ: opts.Champion, version: opts.Champion.Version(), out: out, plain: plain,
		dsps: map[string]*replayDSP{}, newDSP: func(name string) *replayDSP {
			return &replayDSP{ReplayDSP: gateway.NewReplayDSP(name, sh, file.DSPByName(name), opts.ExploreSeed),
				DSPFilter: DSPFilter{Name: name}}
		}}
	err = f.run(files, fromMS, toMS)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if plain != nil {
		if cerr := plain.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("filter log: %w", err)
	}
	sum := &FilterSummary{Rows: f.rows}
	for _, d := range f.dsps {
		d.DSPFilter.Threshold = math.NaN()
		if t, ok := d.ReplayDSP.Threshold(); ok {
			d.DSPFilter.Threshold = t
		}
		sum.DSPs = append(sum.DSPs, d.DSPFilter)
	}
	sort.Slice(sum.DSPs, func(i, j int) bool { return sum.DSPs[i].Name < sum.DSPs[j].Name })
	return sum, nil
}

// gatewayShaping is the shaping settings of a gateway in filter mode with that recall
// target and exploration rate for every DSP.
func gatewayShaping(target, rate float64) config.DSPShaping {
	return config.DSPShaping{Mode: config.ModeFilter, RecallTarget: target, ExplorationRate: rate}
}

type replayDSP struct {
	*gateway.ReplayDSP
	DSPFilter
}

type filter struct {
	ctx        context.Context
	champ      *serving.Scorer
	version    string
	out, plain *bidlog.Writer
	dsps       map[string]*replayDSP
	newDSP     func(string) *replayDSP
	rows       int64

	// Per request, reused.
	req    []bidlog.Row
	in     gateway.ScoreInput
	scores []float64
	pairs  map[string][]int // DSP -> its rows in req
	order  []string         // DSPs in order of appearance
	p      []float64
	batch  []bidlog.Row
	copies []bidlog.Row
}

func (f *filter) run(files []bidlog.FileInfo, fromMS, toMS int64) error {
	r := bidlog.NewReader(files)
	defer func() { _ = r.Close() }()
	f.pairs = map[string][]int{}
	buf := make([]bidlog.Row, 4096)
	for {
		if err := f.ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		for i := range buf[:n] {
			row := &buf[i]
			if row.TS < fromMS || row.TS >= toMS {
				continue
			}
			if len(f.req) > 0 && row.RequestID != f.req[0].RequestID {
				if err := f.request(); err != nil {
					return err
				}
			}
			f.req = append(f.req, *row)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read bid log: %w", err)
		}
	}
	if len(f.req) > 0 {
		if err := f.request(); err != nil {
			return err
		}
	}
	return f.flush()
}

// request decides the rows of one request (f.req) and queues them.
func (f *filter) request() error {
	rows := f.req
	f.req = f.req[:0]
	// One feature row per imp, one pair per row.
	f.in.Features, f.in.Pairs = f.in.Features[:0], f.in.Pairs[:0]
	for k := range f.order {
		f.pairs[f.order[k]] = f.pairs[f.order[k]][:0]
	}
	f.order = f.order[:0]
	lastImp := ""
	for i := range rows {
		r := &rows[i]
		if i == 0 || r.ImpID != lastImp {
			f.in.Features = append(f.in.Features, r.Features())
			lastImp = r.ImpID
		}
		f.in.Pairs = append(f.in.Pairs, gateway.Pair{Imp: len(f.in.Features) - 1, DSP: r.DSP})
		ix := f.pairs[r.DSP]
		if len(ix) == 0 { // the DSP's first row in the request
			if _, ok := f.dsps[r.DSP]; !ok {
				f.dsps[r.DSP] = f.newDSP(r.DSP)
			}
			f.order = append(f.order, r.DSP)
		}
		f.pairs[r.DSP] = append(ix, i)
	}
	if cap(f.scores) < len(rows) {
		f.scores = make([]float64, len(rows))
	}
	scores := f.scores[:len(rows)]
	if err := f.champ.Score(f.ctx, &f.in, scores); err != nil {
		return err
	}
	for _, name := range f.order {
		d := f.dsps[name]
		ix := f.pairs[name]
		f.p = f.p[:0]
		scored := true
		for _, i := range ix {
			if math.IsNaN(scores[i]) {
				scored = false
			}
			f.p = append(f.p, scores[i])
		}
		score := 0.0
		if scored {
			score = gateway.RequestScore(f.p)
		}
		dec, prop, thr := d.Decide(rows[ix[0]].RequestID, scored, score)
		for _, i := range ix {
			r := &rows[i]
			bid := r.Bid()
			r.Decision, r.Propensity, r.Score, r.Threshold, r.ModelVersion, r.TrueP = dec, prop, score, thr, f.version, nil
			d.Rows++
			switch dec {
			case bidlog.DecisionExplored:
				d.Explored++
				d.BidsExplored += b2i(bid)
			case bidlog.DecisionFiltered:
				d.Filtered++
				d.BidsFiltered += b2i(bid)
				r.Outcome, r.BidCPM, r.Won, r.ClearCPM, r.LatencyMS = bidlog.OutcomeNotSent, 0, false, 0, 0
			default:
				d.Sent++
				d.BidsSent += b2i(bid)
			}
		}
	}
	f.rows += int64(len(rows))
	f.batch = append(f.batch, rows...)
	if len(f.batch) >= 8192 {
		return f.flush()
	}
	return nil
}

func (f *filter) flush() error {
	if len(f.batch) == 0 {
		return nil
	}
	if err := f.out.Write(f.batch); err != nil {
		return err
	}
	if f.plain != nil {
		f.copies = append(f.copies[:0], f.batch...)
		for i := range f.copies {
			if f.copies[i].Decision == bidlog.DecisionExplored {
				f.copies[i].Propensity = 1
			}
		}
		if err := f.plain.Write(f.copies); err != nil {
			return err
		}
	}
	f.batch = f.batch[:0]
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
