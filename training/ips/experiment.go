package ips

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/offline"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor"
	"github.com/bidsieve/bidsieve/predictor/serving"
	"github.com/bidsieve/bidsieve/training"
	"github.com/bidsieve/bidsieve/training/evaluation"
)

// Models of the experiment, in report order.
const (
	ModelU       = "U"       // trained on the unfiltered log
	ModelFIPS    = "F-IPS"   // trained on the filtered log, explored rows weighted 1/propensity
	ModelFNoIPS  = "F-noIPS" // trained on the same filtered log, every labelled row weight 1
	MaxEffLoss   = 0.03      // the bar: F-IPS's oracle efficiency at most this below U's
	defaultDays  = 4
	defaultChamp = 2
)

// Options is one run of the experiment. Zero values mean the defaults.
type Options struct {
	Profiles *sim.Profiles
	// Dir receives the simulated logs (reused when a run with the same settings left them
	// there: a .complete file in the folder says so), the filtered logs and the models.
	Dir            string
	RequestsPerDay int
	Start          time.Time // the first simulated day
	// ChampionDays are the days the champion trains on (the last validates; default 2);
	// Days the days after them that the gateway logs with the champion in force and the
	// three models train on (the last validates; default 4). The test day follows.
	ChampionDays, Days int
	Seed, TestSeed     uint64 // seeds of the simulated window and of the test day
	// ExplorationRate is shaping.exploration_rate of the replayed gateway (required, in
	// (0, 0.5]); ExploreSeed its shaping.seed.
	ExplorationRate float64
	ExploreSeed     uint64
	// Train is the template of every training: LogDir, Since and Until are set per model;
	// the champion and the three models get the same settings.
	Train training.Options
	// Log, when not nil, is told what the run is doing.
	Log io.Writer
}

// Trained is one model of the experiment and its test-day report.
type Trained struct {
	Name      string
	Version   string
	LogDir    string
	TrainRows int64 // training sample (after the no-bid downsampling)
	Elapsed   time.Duration
	File      *modelfile.File
	Test      *evaluation.Report
}

// Result is a run of the experiment.
type Result struct {
	Target          float64
	ExplorationRate float64
	Days            int // the days the gateway logged with the champion in force
	// Champion is the model in force while the gateway logged the experiment's days, and
	// Filter what its replay did with them.
	Champion *Trained
	Filter   *FilterSummary
	Models   []*Trained // U, F-IPS, F-noIPS
	DSPs     []string   // every DSP of the test day, by name
	Elapsed  time.Duration
}

// Model returns the model of that name, or nil.
func (r *Result) Model(name string) *Trained {
	for _, m := range r.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.ChampionDays == 0 {
		o.ChampionDays = defaultChamp
	}
	if o.Days == 0 {
		o.Days = defaultDays
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	o.Start = o.Start.UTC().Truncate(24 * time.Hour)
	if o.TestSeed == 0 {
		o.TestSeed = o.Seed + 1
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.Profiles == nil || len(o.Profiles.DSPs) == 0 {
		errs = append(errs, errors.New("no DSP profiles"))
	}
	if o.Dir == "" {
		errs = append(errs, errors.New("no directory"))
	}
	if o.RequestsPerDay <= 0 {
		errs = append(errs, fmt.Errorf("requests per day %d: must be positive", o.RequestsPerDay))
	}
	if o.ChampionDays < 2 || o.Days < 2 {
		errs = append(errs, fmt.Errorf("champion days %d, days %d: training needs at least two days each", o.ChampionDays, o.Days))
	}
	if !(o.ExplorationRate > 0 && o.ExplorationRate <= 0.5) {
		errs = append(errs, fmt.Errorf("exploration rate %v: must be in (0, 0.5]", o.ExplorationRate))
	}
	return errors.Join(errs...)
}

// Run runs the experiment: simulate ChampionDays + Days days unfiltered and the test day;
// train the champion on the first ChampionDays; replay the next Days through it as the
// gateway in filter mode (FilterLog); train U on the unfiltered log of those Days, F-IPS
// on the filtered log, F-noIPS on the filtered log without the weights; evaluate the three
// (and the champion) on the unfiltered test day.
func Run(ctx context.Context, opts Options) (*Result, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("ips experiment: %w", err)
	}
	begin := time.Now()
	day := func(n int) time.Time { return o.Start.AddDate(0, 0, n) }
	expStart, testDay := day(o.ChampionDays), day(o.ChampionDays+o.Days)
	simDir := filepath.Join(o.Dir, "unfiltered")
	testDir := filepath.Join(o.Dir, "test")
	if err := simulate(ctx, o, simDir, o.Start, o.ChampionDays+o.Days, o.Seed); err != nil {
		return nil, err
	}
	if err := simulate(ctx, o, testDir, testDay, 1, o.TestSeed); err != nil {
		return nil, err
	}
	res := &Result{ExplorationRate: o.ExplorationRate, Days: o.Days}

	train := func(name, dir string, since, until time.Time) (*Trained, error) {
		topts := o.Train
		topts.LogDir, topts.Since, topts.Until = dir, since, until
		_, _ = fmt.Fprintf(o.Log, "train %s on %s, %s..%s\n", name, dir, since.Format(time.DateOnly), until.AddDate(0, 0, -1).Format(time.DateOnly))
		t0 := time.Now()
		r, err := training.Train(ctx, topts)
		if err != nil {
			return nil, fmt.Errorf("train %s: %w", name, err)
		}
		t := &Trained{Name: name, Version: r.File.Meta.Version, LogDir: dir, TrainRows: r.File.Meta.TrainRows,
			Elapsed: time.Since(t0), File: r.File}
		m, err := predictor.New(r.File)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		if t.Test, err = evaluation.Evaluate(ctx, m, evaluation.Options{LogDir: testDir}); err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", name, err)
		}
		if err := modelfile.WriteFile(filepath.Join(o.Dir, strings.ToLower(name)+".bsm"), r.File); err != nil {
			return nil, err
		}
		_, _ = fmt.Fprintf(o.Log, "  %s: model %s, %d training rows, %v\n", name, t.Version, t.TrainRows, t.Elapsed.Round(time.Second))
		return t, nil
	}

	champ, err := train("champion", simDir, o.Start, expStart)
	if err != nil {
		return nil, err
	}
	res.Champion = champ
	res.Target = champ.File.Meta.RecallTarget
	cm, err := predictor.New(champ.File)
	if err != nil {
		return nil, err
	}
	sc, err := serving.New(cm)
	if err != nil {
		return nil, err
	}
	filtered, plain := filepath.Join(o.Dir, "filtered"), filepath.Join(o.Dir, "filtered-noips")
	for _, d := range []string{filtered, plain} {
		if err := os.RemoveAll(d); err != nil {
			return nil, err
		}
	}
	_, _ = fmt.Fprintf(o.Log, "replay %s..%s through the champion in filter mode, exploration rate %v\n",
		expStart.Format(time.DateOnly), testDay.AddDate(0, 0, -1).Format(time.DateOnly), o.ExplorationRate)
	if res.Filter, err = FilterLog(ctx, FilterOptions{InDir: simDir, Since: expStart, Until: testDay, OutDir: filtered,
		UnweightedDir: plain, Champion: sc, ExplorationRate: o.ExplorationRate, ExploreSeed: o.ExploreSeed}); err != nil {
		return nil, err
	}
	for _, m := range []struct{ name, dir string }{{ModelU, simDir}, {ModelFIPS, filtered}, {ModelFNoIPS, plain}} {
		t, err := train(m.name, m.dir, expStart, testDay)
		if err != nil {
			return nil, err
		}
		res.Models = append(res.Models, t)
	}
	for name := range res.Models[0].Test.DSPs {
		res.DSPs = append(res.DSPs, name)
	}
	sort.Strings(res.DSPs)
	res.Elapsed = time.Since(begin)
	return res, nil
}

// simulate writes days of unfiltered logs into dir, unless a .complete file says that a
// run with the same settings already did.
func simulate(ctx context.Context, o Options, dir string, start time.Time, days int, seed uint64) error {
	tag := fmt.Sprintf("requests %d, start %s, days %d, seed %d, profiles %d DSPs\n", o.RequestsPerDay,
		start.Format(time.DateOnly), days, seed, len(o.Profiles.DSPs))
	done := filepath.Join(dir, ".complete")
	if b, err := os.ReadFile(done); err == nil && string(b) == tag {
		_, _ = fmt.Fprintf(o.Log, "reusing %s (%s)\n", dir, strings.TrimSpace(tag))
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(o.Log, "simulate %s: %s", dir, tag)
	if _, err := offline.Run(ctx, offline.Config{Profiles: o.Profiles, OutDir: dir, RequestsPerDay: o.RequestsPerDay,
		Start: start, Days: days, Seed: seed}); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	return os.WriteFile(done, []byte(tag), 0o644)
}

// Line is one DSP's figures for one model on the test day.
type Line struct {
	DSP, Model  string
	ThresholdOK bool
	Reason      string
	Threshold   float64
	// Recall is realized on the unfiltered test day at the model's threshold, with its 95%
	// interval (Low, High; effective bids by request). ValRecall and ValLower are the
	// validation day's estimate and the lower bound the threshold was chosen by.
	Recall, Low, High   float64
	ValRecall, ValLower float64
	Withheld            float64 // the test day's rows below the threshold
	FS, OracleFS        float64 // FS@target of the model's and of true_p's request scores
	Efficiency          float64 // FS / OracleFS (evaluation's oracle efficiency)
	AUC                 float64
}

// ReachesTarget says whether the realized recall reaches the target within its bound: the
// target is at most the upper end of the realized recall's 95% interval (the recall is
// not significantly below the target).
func (l Line) ReachesTarget(target float64) bool { return l.ThresholdOK && l.High >= target }

// Line returns the figures of DSP dsp for model m.
func (t *Trained) Line(dsp string) Line {
	l := Line{DSP: dsp, Model: t.Name, Threshold: math.NaN(), Recall: math.NaN(), Low: math.NaN(), High: math.NaN(),
		ValRecall: math.NaN(), ValLower: math.NaN(), Withheld: math.NaN(), FS: math.NaN(), OracleFS: math.NaN(),
		Efficiency: math.NaN(), AUC: math.NaN()}
	m := t.Test.DSPs[dsp]
	if m == nil {
		l.Reason = "not on the test day"
		return l
	}
	num := func(p *evaluation.Num) float64 {
		if p == nil {
			return math.NaN()
		}
		return float64(*p)
	}
	l.ThresholdOK, l.Reason = m.ThresholdOK, m.Reason
	l.Threshold = num(m.Threshold)
	l.Recall, l.Withheld, l.FS, l.AUC = float64(m.Recall), float64(m.FilteredShare), float64(m.FSAtTarget), float64(m.AUC)
	if m.RecallInterval != nil {
		l.Low, l.High = m.RecallInterval.Lower, m.RecallInterval.Upper
	}
	l.ValRecall, l.ValLower = num(m.ValRecall), num(m.ValRecallLow)
	l.OracleFS, l.Efficiency = num(m.OracleFilteredShare), num(m.OracleEfficiency)
	return l
}

// Check is the bar: for every DSP, F-IPS has a threshold whose realized recall on
// the unfiltered test day reaches the target within its bound (Line.ReachesTarget), and
// its oracle efficiency is at most MaxEffLoss below U's. It returns what fails, one line
// each; none means it passes. F-noIPS is reported, not checked.
func (r *Result) Check() []string {
	var fails []string
	u, f := r.Model(ModelU), r.Model(ModelFIPS)
	for _, dsp := range r.DSPs {
		lu, lf := u.Line(dsp), f.Line(dsp)
		switch {
		case !lf.ThresholdOK:
			fails = append(fails, fmt.Sprintf("%s: F-IPS has no threshold (%s)", dsp, lf.Reason))
			continue
		case !lf.ReachesTarget(r.Target):
			fails = append(fails, fmt.Sprintf("%s: F-IPS realized recall %.2f%% [%.2f%%, %.2f%%] below the target %.2f",
				dsp, 100*lf.Recall, 100*lf.Low, 100*lf.High, r.Target))
		}
		if !(lu.Efficiency-lf.Efficiency <= MaxEffLoss) {
			fails = append(fails, fmt.Sprintf("%s: F-IPS oracle efficiency %.3f, U's %.3f: more than %.2f below",
				dsp, lf.Efficiency, lu.Efficiency, MaxEffLoss))
		}
	}
	return fails
}

// WriteTable writes the result as Markdown: the champion's replay, then per DSP and model
// the test day's figures, then the verdict.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	pct := func(x float64) string {
		if math.IsNaN(x) {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", 100*x)
	}
	fl := func(x float64, prec int) string {
		if math.IsNaN(x) {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, x)
	}
	fmt.Fprintf(&b, "Champion %s in force, exploration rate %v (the gateway's log of the %d days the models train on):\n\n",
		r.Champion.Version, r.ExplorationRate, r.Days)
	b.WriteString("| DSP | threshold | rows | sent | explored | filtered | bids sent | bids explored | bids filtered (unseen) | champion recall |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, d := range r.Filter.DSPs {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", d.Name, fl(d.Threshold, 4), d.Rows, d.Sent,
			d.Explored, d.Filtered, d.BidsSent, d.BidsExplored, d.BidsFiltered, pct(d.Recall()))
	}
	fmt.Fprintf(&b, "\nUnfiltered test day, target %.2f (recall realized at the model's threshold with its 95%% interval; "+
		"validation estimate and lower bound the threshold was chosen by; withheld at the threshold; "+
		"efficiency = FS@%.2f / oracle FS@%.2f; ΔU = efficiency minus U's):\n\n", r.Target, r.Target, r.Target)
	b.WriteString("| DSP | model | threshold | realized recall | 95% interval | reaches target | validation recall (bound) | withheld | FS@target | oracle FS | efficiency | ΔU | AUC |\n")
	b.WriteString("| --- | --- | ---: | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	u := r.Model(ModelU)
	for _, dsp := range r.DSPs {
		eu := u.Line(dsp).Efficiency
		for _, m := range r.Models {
			l := m.Line(dsp)
			th := fl(l.Threshold, 4)
			if !l.ThresholdOK {
				th = "none"
			}
			reach := "no"
			if l.ReachesTarget(r.Target) {
				reach = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | [%s, %s] | %s | %s (%s) | %s | %s | %s | %s | %s | %s |\n", dsp, m.Name, th,
				pct(l.Recall), pct(l.Low), pct(l.High), reach, pct(l.ValRecall), pct(l.ValLower), pct(l.Withheld),
				pct(l.FS), pct(l.OracleFS), fl(l.Efficiency, 3), fl(l.Efficiency-eu, 3), fl(l.AUC, 4))
		}
	}
	b.WriteString("\nModels: ")
	for i, m := range append([]*Trained{r.Champion}, r.Models...) {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s (%d training rows, %v)", m.Name, m.Version, m.TrainRows, m.Elapsed.Round(time.Second))
	}
	b.WriteString(".\n")
	if fails := r.Check(); len(fails) > 0 {
		b.WriteString("\nFAIL:\n")
		for _, f := range fails {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	} else {
		fmt.Fprintf(&b, "\nPASS: for every DSP, F-IPS's realized recall reaches the target within its bound and its oracle efficiency is within %.2f of U's.\n", MaxEffLoss)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
