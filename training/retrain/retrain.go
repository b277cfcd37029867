package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/predictor"
	"github.com/bidsieve/bidsieve/training"
	"github.com/bidsieve/bidsieve/training/evaluation"
	"github.com/bidsieve/bidsieve/training/metrics"
)

// DefaultWindowDays is the window of `retrain --window`: 7 days, the newest held out.
const DefaultWindowDays = 7

// ForceFile, in the history folder, asks the next run for a fresh challenger (Rule.Force);
// a promotion removes it. The drift guard (issue 13 item 3) is to write it.
const ForceFile = "FORCE"

// Options configures Run.
type Options struct {
	LogDir    string // bidlog.dir
	ModelPath string // model.path: the champion, replaced on promotion
	// WindowDays is how many UTC days, up to and including the newest day of the log,
	// the run reads; the newest is held out, the others train. Of the held-out day, one
	// half of the requests validates the challenger (early stopping, thresholds) and the
	// other judges it against the champion (metrics.Half), so that the challenger learns
	// from every day before it: after a DSP changes, the first retrain whose held-out day
	// comes after the change day trains on it. At least 3. 0: DefaultWindowDays.
	WindowDays int
	Rule       Rule
	// Targets are the recall targets of DSPs whose target differs from Train.RecallTarget
	// (a per-DSP shaping.recall_target): each DSP is judged at the threshold the gateway
	// would serve it at, its target's on the model's curve.
	Targets map[string]float64
	// Train is the template of the training options (seed, network, recall target);
	// LogDir, Since and Until are set by Run.
	Train  training.Options
	Logger *slog.Logger // nil: discard
	Now    func() time.Time
	// Until, when set, ends the window: the newest whole UTC day before Until's day is
	// held out, and rows from Until's day on are not read (`retrain --until`, for a gateway
	// on a simulated clock, whose log runs into a day not over yet). Zero: the window ends
	// with the newest day of the log.
	Until time.Time
}

// Result is what one run did.
type Result struct {
	Entry    modelhistory.Entry
	Promoted bool
}

// ErrBadLog wraps a bid-log folder whose files cannot be listed (a corrupted or truncated
// file has no readable footer): the run stops and the champion keeps serving. A file that
// fails later, while training reads it, stops the run the same way ("read bid log: ...").
var ErrBadLog = errors.New("bid log unreadable")

// Run trains, evaluates and decides once. An error means nothing was promoted (the
// champion is untouched); a refusal is not an error: Result.Promoted is false and the
// entry says why.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.WindowDays == 0 {
		o.WindowDays = DefaultWindowDays
	}
	if o.WindowDays < 3 {
		return nil, fmt.Errorf("retrain: window of %d days: at least 3 (two to train on, one held out to validate and judge on)", o.WindowDays)
	}
	if o.LogDir == "" || o.ModelPath == "" {
		return nil, errors.New("retrain: bidlog.dir and model.path are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	dir := modelhistory.Dir(o.ModelPath)
	unlock, err := modelhistory.LockRun(dir)
	if err != nil {
		return nil, fmt.Errorf("retrain: %w", err)
	}
	defer unlock()

	files, err := bidlog.ListDir(o.LogDir)
	if err != nil {
		return nil, fmt.Errorf("retrain: %w: %w", ErrBadLog, err)
	}
	var maxTS int64
	var any bool
	endMS := int64(math.MaxInt64)
	if !o.Until.IsZero() {
		endMS = o.Until.UTC().Truncate(24 * time.Hour).UnixMilli()
	}
	for _, f := range files {
		if f.Rows > 0 && f.MinTS < endMS && (!any || f.MaxTS > maxTS) {
			maxTS, any = f.MaxTS, true
		}
	}
	if !any {
		if !o.Until.IsZero() {
			return nil, fmt.Errorf("retrain: %w in %s before %s", training.ErrNoLogs, o.LogDir, time.UnixMilli(endMS).UTC().Format(time.DateOnly))
		}
		return nil, fmt.Errorf("retrain: %w in %s", training.ErrNoLogs, o.LogDir)
	}
	held := time.UnixMilli(maxTS).UTC().Truncate(24 * time.Hour)
	if !o.Until.IsZero() {
		held = time.UnixMilli(endMS).UTC().AddDate(0, 0, -1)
	}
	end := held.Add(24 * time.Hour)
	start := held.AddDate(0, 0, -(o.WindowDays - 1))
	force := o.Rule.Force
	if _, err := os.Stat(filepath.Join(dir, ForceFile)); err == nil {
		force = true
	}

	// The champion: the model in force, if it loads.
	var champ *predictor.Model
	champVersion := ""
	switch f, err := modelfile.ReadFile(o.ModelPath); {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("no champion: model.path does not exist", "path", o.ModelPath)
	case err != nil:
		log.Warn("champion unreadable: the challenger is judged on the target alone", "path", o.ModelPath, "err", err)
	default:
		if champ, err = predictor.New(f); err != nil {
			log.Warn("champion does not load: the challenger is judged on the target alone", "err", err)
			champ = nil
			break
		}
		champVersion = f.Meta.Version
		if err := keepBaseline(dir, f, o.Now()); err != nil {
			return nil, err
		}
	}

	drifted := driftedUnder(o.ModelPath, champVersion)
	if len(drifted) > 0 {
		log.Info("the gateway reports drift under the champion: a fresh challenger is asked for", "dsps", drifted)
	}
	rule := o.Rule
	rule.Force = force || len(drifted) > 0

	topts := o.Train
	topts.LogDir, topts.Since, topts.Until, topts.ValHalf = o.LogDir, start, end, metrics.HalfValidate
	log.Info("training the challenger", "window_start", start.Format("2006-01-02"), "held_out_day", held.Format("2006-01-02"),
		"champion", champVersion, "force", force, "drifted", drifted)
	res, err := training.Train(ctx, topts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("retrain: train the challenger: %w", err)
	}
	chall, err := predictor.New(res.File)
	if err != nil {
		return nil, fmt.Errorf("retrain: the challenger does not load: %w", err)
	}
	eopts := evaluation.Options{LogDir: o.LogDir, Since: held, Until: end, Half: metrics.HalfJudge, RecallTarget: topts.RecallTarget}
	challRep, err := evaluateAt(ctx, chall, eopts, o.Targets)
	if err != nil {
		return nil, fmt.Errorf("retrain: evaluate the challenger on %s: %w", held.Format("2006-01-02"), err)
	}
	var champRep *evaluation.Report
	var champFile *modelfile.File
	if champ != nil {
		champFile = champ.File()
		if champRep, err = evaluateAt(ctx, champ, eopts, o.Targets); err != nil {
			return nil, fmt.Errorf("retrain: evaluate the champion on %s: %w", held.Format("2006-01-02"), err)
		}
	}

	dsps, reasons := Decide(challRep, champRep, champFile, rule)
	e := modelhistory.Entry{
		Version: res.File.Meta.Version, At: o.Now().UTC(), Champion: champVersion,
		WindowStart: start, HeldOutDay: held, WindowEnd: end,
		TrainRows: res.File.Meta.TrainRows, HeldOutRows: challRep.Overall.Rows,
		Tolerance: rule.Tolerance, Forced: rule.Force, Drifted: drifted, DSPs: dsps,
	}
	if champVersion != "" && e.Version == champVersion {
		reasons = append(reasons, "the challenger is the champion (same data and seed, same weights)")
	}
	if len(reasons) > 0 {
		e.Status, e.Reasons = modelhistory.StatusRefused, reasons
		if err := modelhistory.Record(dir, &e, nil); err != nil {
			return nil, err
		}
		log.Info("challenger refused: the champion keeps serving", "version", e.Version, "champion", champVersion, "reasons", reasons)
		return &Result{Entry: e}, nil
	}
	e.Status = modelhistory.StatusPromoted
	if err := modelhistory.Record(dir, &e, res.File); err != nil {
		return nil, err
	}
	if _, err := modelhistory.Promote(dir, e.Version, o.ModelPath, champVersion); err != nil {
		e.Status, e.Reasons = modelhistory.StatusRefused, []string{"install: " + err.Error()}
		if rerr := modelhistory.Record(dir, &e, nil); rerr != nil {
			log.Error("record the failed promotion", "err", rerr)
		}
		return &Result{Entry: e}, fmt.Errorf("retrain: promote %s: %w", e.Version, err)
	}
	if force {
		_ = os.Remove(filepath.Join(dir, ForceFile))
	}
	log.Info("challenger promoted", "version", e.Version, "champion", champVersion, "path", o.ModelPath)
	return &Result{Entry: e, Promoted: true}, nil
}

// keepBaseline records the champion in the history, with its file, when it is not there
// yet (the model trained by hand before retrain first ran), so that it can be rolled back to.
func keepBaseline(dir string, f *modelfile.File, now time.Time) error {
	if !modelhistory.ValidVersion(f.Meta.Version) {
		return nil
	}
	if _, err := os.Stat(modelhistory.ModelPath(dir, f.Meta.Version)); err == nil {
		return nil
	}
	e := modelhistory.Entry{Version: f.Meta.Version, At: now.UTC(), Status: modelhistory.StatusBaseline,
		WindowStart: f.Meta.WindowStart, WindowEnd: f.Meta.WindowEnd, TrainRows: f.Meta.TrainRows,
		Reasons: []string{"in force when retrain first ran"}, DSPs: []modelhistory.DSPResult{}}
	if old, err := modelhistory.Read(dir, f.Meta.Version); err == nil {
		e = *old // a promoted entry whose file went missing: keep what it said
	}
	return modelhistory.Record(dir, &e, f)
}

// evaluateAt evaluates m at opts.RecallTarget (0: the model's trained target), and once
// more per other target of targets for the DSPs that have it: one scoring pass per
// distinct target.
func evaluateAt(ctx context.Context, m *predictor.Model, opts evaluation.Options, targets map[string]float64) (*evaluation.Report, error) {
	rep, err := evaluation.Evaluate(ctx, m, opts)
	if err != nil {
		return nil, err
	}
	byTarget := map[float64][]string{}
	for name, t := range targets {
		if t != rep.Target && rep.DSPs[name] != nil {
			byTarget[t] = append(byTarget[t], name)
		}
	}
	for t, names := range byTarget {
		o := opts
		o.RecallTarget = t
		r, err := evaluation.Evaluate(ctx, m, o)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			rep.DSPs[name] = r.DSPs[name]
		}
	}
	return rep, nil
}

// DriftFile is the file the gateway's drift guard writes beside model.path (gateway.DriftFile):
// the DSPs whose live recall stayed below target under model "model".
const DriftFile = "drift.json"

// driftedUnder returns the DSPs that drift.json beside modelPath reports drifted under the
// model of version champion; none when the file is absent, unreadable, or about another
// model (a drift under an older model says nothing of this one).
func driftedUnder(modelPath, champion string) []string {
	if champion == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(modelPath), DriftFile))
	if err != nil {
		return nil
	}
	var r struct {
		Model string                     `json:"model"`
		DSPs  map[string]json.RawMessage `json:"dsps"`
	}
	if json.Unmarshal(b, &r) != nil || r.Model != champion {
		return nil
	}
	var out []string
	for name := range r.DSPs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
