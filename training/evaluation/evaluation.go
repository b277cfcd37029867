// Package evaluation measures a model file on bid logs: the metrics of docs/DESIGN.md ("Model metrics") per DSP and
// overall (recall and filtered share at the model's threshold, FS@r, AUC, and the oracle
// figures when the logs carry true_p), with the network scored by the serving code
// (package predictor) and the baselines stored in the model file scored beside it.
//
// Recall, filtered shares and FS@r are computed on request scores, as the gateway
// decides: every labelled row of a request gets, per DSP, 1 - prod(1 - p) over the
// request's imps. AUCs measure how the scorers rank (imp, DSP) rows: they are computed on
// the row probabilities. Rows are weighted (1/propensity for explored rows). It does not
// import gorgonia. Evaluate uses every core.
package evaluation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/predictor"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/bidsieve/bidsieve/training/baseline"
	"github.com/bidsieve/bidsieve/training/metrics"
)

// Options configures Evaluate.
type Options struct {
	LogDir string
	// RecallTarget is the r of FS@r and the target whose threshold is applied: 0 means the
	// model's trained target (the thresholds stored in the file); another value takes the
	// threshold from each DSP's curve (modelfile.DSP.ThresholdFor).
	RecallTarget float64
	// Since and Until, when not zero, keep only the rows with Since <= ts < Until (the
	// held-out day of `bidsieve retrain`).
	Since, Until time.Time
	// Half, when not HalfAll, keeps only the requests of that half (metrics.Half): the
	// half of the held-out day on which `bidsieve retrain` judges.
	Half metrics.Half
	// Progress, when not nil, is told the rows read.
	Progress func(rows int64)
}

// Num is a figure that is null in JSON when undefined (NaN).
type Num float64

// MarshalJSON writes null for NaN and infinities.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return fmt.Appendf(nil, "%.6g", f), nil
}

// Metrics are the figures of one DSP (or of all, in Report.Overall). The first keys are
// the contract of docs/DESIGN.md ("Commands", `evaluate --json`); the oracle keys appear only when the logs
// carry true_p. Threshold is the DSP's threshold for the target (null overall: each DSP
// has its own); Recall and FilteredShare are realized on these logs at it.
type Metrics struct {
	Rows                int64 `json:"rows"`
	Bids                int64 `json:"bids"`
	BidRate             Num   `json:"bid_rate"`
	AUC                 Num   `json:"auc"`
	Threshold           *Num  `json:"threshold"`
	Recall              Num   `json:"recall"`
	FilteredShare       Num   `json:"filtered_share"`
	FSAtTarget          Num   `json:"fs_at_target"`
	OracleFilteredShare *Num  `json:"oracle_filtered_share,omitempty"`
	OracleEfficiency    *Num  `json:"oracle_efficiency,omitempty"`

	// Beyond the contract.
	Target       Num                        `json:"target"`
	ThresholdOK  bool                       `json:"threshold_ok"`         // false: no threshold, served unfiltered
	Reason       string                     `json:"reason,omitempty"`     // why there is no threshold
	ValRecall    *Num                       `json:"val_recall,omitempty"` // the validation day's estimate at the threshold
	ValRecallLow *Num                       `json:"val_recall_lower,omitempty"`
	OracleAUC    *Num                       `json:"oracle_auc,omitempty"`
	Baselines    map[string]BaselineMetrics `json:"baselines,omitempty"`
	// RecallInterval is the 95% interval of Recall, on the effective number of bids
	// (metrics.Sorted.EffectiveBids over requests: explored bids weigh 1/propensity, a request's bids go together).
	RecallInterval *stats.Interval `json:"recall_interval,omitempty"`
	EffectiveBids  Num             `json:"effective_bids"`
	// WithheldSE is the standard error of FilteredShare that comes from the threshold
	// being set on one day's sample (see withheldSE): how far another calibration day
	// would move it. retrain's promotion rule widens its tolerance by it.
	WithheldSE Num `json:"withheld_se"`
}

// BaselineMetrics are a baseline's figures on the same rows. AUCDiff is the network's AUC
// minus the baseline's and AUCDiffSE its standard error (DeLong, paired).
type BaselineMetrics struct {
	AUC        Num  `json:"auc"`
	FSAtTarget Num  `json:"fs_at_target"`
	Efficiency *Num `json:"oracle_efficiency,omitempty"`
	AUCDiff    *Num `json:"network_auc_minus_baseline,omitempty"`
	AUCDiffSE  *Num `json:"network_auc_minus_baseline_se,omitempty"`
}

// Report is the output of `bidsieve evaluate --json`.
type Report struct {
	DSPs    map[string]*Metrics `json:"dsps"`
	Overall *Metrics            `json:"overall"`

	Model     string  `json:"model"`
	Target    float64 `json:"target"`
	Files     int     `json:"files"`
	HasTrueP  bool    `json:"has_true_p"`
	Unlabeled int64   `json:"unlabelled_rows"`
}

// Baseline names in reports.
const (
	BaselineFTRL = "ftrl"
	BaselineHist = "hist_rate"
)

// row is one labelled row after scoring.
type row struct {
	key    uint64
	dsp    int32 // index in names
	bid    bool
	weight float32
	net    float32
	ftrl   float32
	hist   float32
	trueP  float32 // NaN when absent
}

func pn(x float64) *Num { n := Num(x); return &n }

// Evaluate scores the labelled rows of opts.LogDir with m and computes the report.
func Evaluate(ctx context.Context, m *predictor.Model, opts Options) (*Report, error) {
	f := m.File()
	target := opts.RecallTarget
	if target == 0 {
		target = f.Meta.RecallTarget
	}
	if !(target > 0 && target < 1) {
		return nil, fmt.Errorf("recall target %v: must be in (0, 1)", target)
	}
	files, err := listLogs(opts.LogDir)
	if err != nil {
		return nil, err
	}
	sc, err := newScorer(m)
	if err != nil {
		return nil, err
	}
	sc.fromMS, sc.toMS, sc.half = math.MinInt64, math.MaxInt64, opts.Half
	if !opts.Since.IsZero() {
		sc.fromMS = opts.Since.UnixMilli()
	}
	if !opts.Until.IsZero() {
		sc.toMS = opts.Until.UnixMilli()
	}
	rows, names, unl, err := scoreLogs(ctx, files, sc, opts.Progress)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		if !opts.Since.IsZero() || !opts.Until.IsZero() {
			return nil, fmt.Errorf("no labelled rows (sent or explored) in the logs of %s between %s and %s", opts.LogDir,
				opts.Since.UTC().Format(time.RFC3339), opts.Until.UTC().Format(time.RFC3339))
		}
		return nil, fmt.Errorf("no labelled rows (sent or explored) in the logs of %s", opts.LogDir)
	}
	hasTrueP := true
	for i := range rows {
		if math.IsNaN(float64(rows[i].trueP)) {
			hasTrueP = false
			break
		}
	}
	rep := &Report{DSPs: map[string]*Metrics{}, Model: f.Meta.Version, Target: target, Files: len(files),
		HasTrueP: hasTrueP, Unlabeled: unl}
	byDSP := make([][]int, len(names))
	for i := range rows {
		byDSP[rows[i].dsp] = append(byDSP[rows[i].dsp], i)
	}
	var all []dspEval
	for d, name := range names {
		e := evalDSP(f, name, rows, byDSP[d], target, hasTrueP, sc.hasFTRL, sc.hasHist)
		rep.DSPs[name] = e.m
		all = append(all, e)
	}
	rep.Overall = overall(all, target, hasTrueP)
	return rep, nil
}

func listLogs(dir string) ([]bidlog.FileInfo, error) {
	files, err := bidlog.ListDir(dir)
	if err != nil {
		return nil, err
	}
	var n int64
	for _, f := range files {
		n += f.Rows
	}
	if n == 0 {
		return nil, fmt.Errorf("no bid-log files (*.parquet with rows) in %s", dir)
	}
	return files, nil
}

// scorer holds what scoring needs; each worker clones the parts with scratch space.
type scorer struct {
	m       *predictor.Model
	ftrl    *baseline.FTRLScorer
	hist    *baseline.HistScorer
	hasFTRL bool
	hasHist bool
	// fromMS <= ts < toMS: the rows scored.
	fromMS, toMS int64
	half         metrics.Half // the requests kept (Options.Half)
}

func newScorer(m *predictor.Model) (*scorer, error) {
	s := &scorer{m: m}
	if b := m.File().Baselines; b != nil {
		if b.FTRL != nil {
			f, err := baseline.NewFTRLScorer(b.FTRL)
			if err != nil {
				return nil, fmt.Errorf("model's FTRL baseline: %w", err)
			}
			s.ftrl, s.hasFTRL = f, true
		}
		if b.HistRate != nil {
			h, err := baseline.NewHistScorer(b.HistRate)
			if err != nil {
				return nil, fmt.Errorf("model's historical bid-rate baseline: %w", err)
			}
			s.hist, s.hasHist = h, true
		}
	}
	return s, nil
}

// chunk is a batch of log rows and their scores.
type chunk struct {
	seq  int
	n    int // rows read
	skip int // rows outside the time range or the half
	in   []bidlog.Row
	out  []row
	dsps []string // DSP name of each out row
}

// scoreLogs reads the files and scores every labelled row on all cores, keeping the
// log order (so that the result does not depend on scheduling).
func scoreLogs(ctx context.Context, files []bidlog.FileInfo, sc *scorer, progress func(int64)) ([]row, []string, int64, error) {
	r := bidlog.NewReader(files)
	defer func() { _ = r.Close() }()
	workers := max(1, runtime.GOMAXPROCS(0))
	todo := make(chan *chunk, workers)
	done := make(chan *chunk, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ft *baseline.FTRLScorer
			if sc.ftrl != nil {
				ft = sc.ftrl.Clone()
			}
			ws := newWorker(sc, ft)
			for c := range todo {
				ws.score(c)
				done <- c
			}
		}()
	}
	var readErr error
	var unlabelled int64
	go func() {
		defer close(todo)
		for seq := 0; ; seq++ {
			if err := ctx.Err(); err != nil {
				readErr = err
				return
			}
			c := &chunk{seq: seq, in: make([]bidlog.Row, 4096)}
			n, err := r.Read(c.in)
			c.in, c.n = c.in[:n], n
			if n > 0 {
				todo <- c
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				readErr = fmt.Errorf("read bid log: %w", err)
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()

	pending := map[int]*chunk{}
	next := 0
	var rows []row
	names := []string{}
	index := map[string]int32{}
	for c := range done {
		pending[c.seq] = c
		for {
			c, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			unlabelled += int64(c.n - c.skip - len(c.out))
			for i := range c.out {
				name := c.dsps[i]
				id, ok := index[name]
				if !ok {
					id = int32(len(names))
					index[name] = id
					names = append(names, name)
				}
				c.out[i].dsp = id
				rows = append(rows, c.out[i])
			}
			if progress != nil {
				progress(int64(c.n))
			}
		}
	}
	if readErr != nil {
		return nil, nil, 0, readErr
	}
	// Sort the DSPs by name and renumber.
	order := append([]string(nil), names...)
	sort.Strings(order)
	renum := make([]int32, len(names))
	for newID, name := range order {
		renum[index[name]] = int32(newID)
	}
	for i := range rows {
		rows[i].dsp = renum[rows[i].dsp]
	}
	return rows, order, unlabelled, nil
}

// worker scores chunks with its own scratch space.
type worker struct {
	sc      *scorer
	ftrl    *baseline.FTRLScorer
	scratch *predictor.Scratch
	imps    []features.Raw
	impOf   []int32
	ids     []int32
	probs   []float32
	rowsIdx []int // rows of the chunk the model knows
}

func newWorker(sc *scorer, ft *baseline.FTRLScorer) *worker {
	return &worker{sc: sc, ftrl: ft, scratch: &predictor.Scratch{}}
}

func (w *worker) score(c *chunk) {
	w.imps, w.impOf, w.ids, w.rowsIdx = w.imps[:0], w.impOf[:0], w.ids[:0], w.rowsIdx[:0]
	c.out = c.out[:0]
	c.dsps = c.dsps[:0]
	var lastReq, lastImp string
	for i := range c.in {
		r := &c.in[i]
		if r.TS < w.sc.fromMS || r.TS >= w.sc.toMS {
			c.skip++
			continue
		}
		key := metrics.RequestKey(r.RequestID)
		if !w.sc.half.Keeps(key) {
			c.skip++
			continue
		}
		if !r.Labelled() {
			continue
		}
		raw := r.Features()
		if len(w.imps) == 0 || r.RequestID != lastReq || r.ImpID != lastImp {
			w.imps = append(w.imps, raw)
			lastReq, lastImp = r.RequestID, r.ImpID
		}
		wt := float32(metrics.RowWeight(r))
		o := row{key: key, bid: r.Bid(), weight: wt, net: float32(math.NaN()),
			ftrl: float32(math.NaN()), hist: float32(math.NaN()), trueP: float32(math.NaN())}
		if r.TrueP != nil {
			o.trueP = float32(*r.TrueP)
		}
		if w.ftrl != nil {
			o.ftrl = float32(w.ftrl.Score(&raw, r.DSP))
		}
		if w.sc.hist != nil {
			o.hist = float32(w.sc.hist.Score(r.DSP, r.Publisher, r.Format))
		}
		if id, ok := w.sc.m.DSPID(r.DSP); ok {
			w.impOf = append(w.impOf, int32(len(w.imps)-1))
			w.ids = append(w.ids, id)
			w.rowsIdx = append(w.rowsIdx, len(c.out))
		}
		c.out = append(c.out, o)
		c.dsps = append(c.dsps, r.DSP)
	}
	if len(w.ids) > 0 {
		if cap(w.probs) < len(w.ids) {
			w.probs = make([]float32, len(w.ids))
		}
		p := w.probs[:len(w.ids)]
		w.sc.m.Score(p, w.imps, w.impOf, w.ids, w.scratch)
		for k, i := range w.rowsIdx {
			c.out[i].net = p[k]
		}
	}
	c.in = nil // the rows are no longer needed
}
