package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
	"github.com/bidsieve/bidsieve/dsp/sim/offline"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/predictor/serving"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/bidsieve/bidsieve/training"
	"github.com/bidsieve/bidsieve/training/retrain"
)

// Loop is the closed loop run unattended (`make loop`, issue 13): a model trained on
// simulated logs, then Days simulated days of traffic through the gateway in filter mode,
// on loopback against the simulated DSPs, with `retrain` after every day on the gateway's
// own bid log (the day just served held out), the gateway reloading what it promotes. On
// ChangeDay two DSPs change what they buy (the Changes overlay); on AddDay a DSP joins
// (the Added overlay, in the DSP server and the gateway's configuration). Every request
// is also shown to the DSP server's ground truth (dspserver.Server.Truth), so each DSP's
// true recall counts the bids it would have made on the requests it never got.
//
// Simulated time: a day is Phases stretches of PhaseSpan at spread hours; within a
// stretch the clock moves evenly from request to request, so the gateway's live window
// (15 simulated minutes) and the drift guard's drift_after count simulated time. Deadlines
// keep the real clock; the DSPs answer at once (no latency), and their QPS buckets hold an
// hour, so the days differ by the model and the DSPs' tastes alone.
type Loop struct {
	Dir      string        // working folder: bidlog/, models/ (emptied first)
	Profiles []byte        // the profile file of days before ChangeDay
	Changes  []byte        // overlay from ChangeDay on: `dsps:` entries replacing those of the same name
	Added    []byte        // overlay from AddDay on: new `dsps:` entries
	Start    time.Time     // the first served day (UTC midnight); WarmDays simulated days precede it
	Days     int           // served days
	WarmDays int           // days of unfiltered simulated logs the first model is trained on (>= 3)
	PerDay   int           // requests per served day (and per warm day)
	Phases   []int         // hours of the day's stretches
	Span     time.Duration // simulated length of a stretch
	// ChangeDay and AddDay are day indexes (0: Start); a negative one never comes.
	ChangeDay, AddDay int
	Seed              uint64 // traffic, the DSPs' draws, shaping and training
	RecallTarget      float64
	ExplorationRate   float64
	DriftAfter        time.Duration
	WindowDays        int // retrain --window
	Train             training.Options
	MaxInFlight       int
	Out               io.Writer // progress and the table; nil: discard
	Logger            *slog.Logger
}

// LoopDay is one DSP's figures on one served day.
type LoopDay struct {
	Day, DSP string
	Model    string // version in force during the day ("" none)
	Known    bool   // the model had a threshold for the DSP
	// Live is the gateway's own estimate of the day's recall (the live figures' formula
	// over the day's bid-log rows: sent bids plus explored bids weighted 1/propensity).
	Live *stats.Interval
	// True is bids received / bids the DSP would have made on every request offered
	// (the DSP server's ground truth), leaving out the Late pairs: sent, but answered past
	// the auction's deadline (the machine's lateness, not shaping's; none on a quiet one).
	True           float64
	Bids, WouldBid int64
	Late           int64
	// FilterTrue is the filter's own true recall: the would-bids of the pairs it passed on
	// their score (sent, or in shadow at or above the threshold) over all would-bids, what
	// the DSP would have got from the model alone, with neither exploration nor the drift
	// guard's shadow nor the machine's lateness.
	FilterTrue float64
	Offered    int64
	Withheld   float64 // filtered / offered
	// OracleWithheld is the share an oracle scoring with the DSP's true probabilities
	// could withhold at the recall target (FS@target on the ground truth): what the best
	// model would withhold that day. A change in what a DSP buys moves it.
	OracleWithheld float64
	Drift          bool      // the drift guard fired for it during the day
	DriftAt        time.Time // when (drift.json's since)
	// TrueUntilDrift is the true recall over the day's stretches up to the one in which the
	// guard fired (what the model alone gave the DSP, before shadow sent it everything).
	TrueUntilDrift  float64
	Decisions       map[string]int64
	ShadowedByDrift int64 // requests sent in shadow because the DSP had drifted
}

// LoopRetrain is one retrain round after a day.
type LoopRetrain struct {
	After     string // the day held out
	Version   string
	Promoted  bool
	Forced    bool
	Reasons   []string
	PerDSP    map[string]string // verdict: reason
	Took      time.Duration
	TrainRows int64
}

// LoopReport is a whole run.
type LoopReport struct {
	Initial  string
	Days     []string
	DSPs     []string // every DSP, in profile order, the added one last
	Figures  map[string]map[string]*LoopDay
	Logged   []int64 // auctions in the bid log, per day
	Retrains []LoopRetrain
	Changed  []string // the DSPs the change overlay replaced
	Added    []string
	Target   float64
	Elapsed  time.Duration
}

// loopSink is the gateway's bid log in the loop: rows go to the Parquet writer (which
// retrain reads) and into the current day's per-DSP counts.
type loopSink struct {
	mu  sync.Mutex
	w   *bidlog.Writer
	err error
	day map[string]*loopCounts
	// auctions counts the day's auctions logged (one Log call each).
	auctions int64
	// truth is each request's ground truth (imps each DSP would bid on), set by the driver
	// before it sends the request; a pair sent but answered too late for the auction (the
	// machine's lateness, not shaping's) leaves its would-bids out of the true recall.
	truth map[string]map[string]int
}

// expect records req's ground truth before it is sent.
func (s *loopSink) expect(id string, t map[string]int) {
	s.mu.Lock()
	s.truth[id] = t
	s.mu.Unlock()
}

type loopCounts struct {
	fig  stats.Figures
	late int64 // pairs sent whose answer missed the auction (timeout, not_sent)
	// would and kept are the ground truth's would-bids over the pairs offered, and over those
	// the filter passed on their score (sent, or in shadow at or above the threshold).
	would, kept int64
	lateWould   int64 // the would-bids of those pairs
	decisions   map[string]int64
}

func (s *loopSink) Log(rows []bidlog.Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Write(rows); err != nil && s.err == nil {
		s.err = err
	}
	s.auctions++
	seen := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		c := s.day[r.DSP]
		if c == nil {
			c = &loopCounts{decisions: map[string]int64{}}
			s.day[r.DSP] = c
		}
		f := &c.fig
		bid := int64(0)
		if r.Outcome == bidlog.OutcomeBid {
			bid = 1
		}
		f.Bids += bid
		first := !seen[r.DSP]
		seen[r.DSP] = true
		if first {
			f.Offered++
			c.decisions[r.Decision]++
			w := int64(s.truth[r.RequestID][r.DSP])
			c.would += w
			if r.Decision == bidlog.DecisionSent || r.Decision == bidlog.DecisionFailOpen ||
				r.Decision == bidlog.DecisionShadow && r.Score >= r.Threshold {
				c.kept += w
			}
			if r.Labelled() && (r.Outcome == bidlog.OutcomeTimeout || r.Outcome == bidlog.OutcomeNotSent) {
				c.late++
				c.lateWould += int64(s.truth[r.RequestID][r.DSP])
			}
		}
		switch r.Decision {
		case bidlog.DecisionSent, bidlog.DecisionFailOpen:
			f.BidsSent += bid
			if first {
				f.Sent++
			}
		case bidlog.DecisionShadow:
			f.ShadowBids += bid
			if r.Score >= r.Threshold {
				f.ShadowKept += bid
			}
			if first {
				f.Sent++
			}
		case bidlog.DecisionExplored:
			f.BidsExplored += bid
			if r.Propensity > 0 {
				f.ExploredWeight += float64(bid) / r.Propensity
			}
			if first {
				f.Explored++
			}
		case bidlog.DecisionFiltered:
			if first {
				f.Filtered++
			}
		}
	}
}

// logged returns the number of auctions logged so far today.
func (s *loopSink) logged() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auctions
}

// take returns the day's counts and starts a new day.
func (s *loopSink) take() (map[string]*loopCounts, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, n, err := s.day, s.auctions, s.err
	s.day, s.auctions, s.truth = map[string]*loopCounts{}, 0, map[string]map[string]int{}
	if err == nil {
		err = s.w.Roll() // publish: retrain reads only complete files
	}
	return d, n, err
}

// Run runs the loop and returns its report; an error stops it (a failed retrain round is
// not one: the champion keeps serving and the round is reported).
func (l *Loop) Run(ctx context.Context) (*LoopReport, error) {
	began := time.Now()
	out := l.Out
	if out == nil {
		out = io.Discard
	}
	log := l.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if l.WarmDays < 3 || l.Days < 1 || l.PerDay < 1 || len(l.Phases) == 0 || l.Span <= 0 {
		return nil, errors.New("loop: need WarmDays >= 3, Days, PerDay, Phases and Span")
	}
	base, err := sim.Parse(l.Profiles)
	if err != nil {
		return nil, fmt.Errorf("loop: profiles: %w", err)
	}
	changedYAML, changed, err := overlay(l.Profiles, l.Changes)
	if err != nil {
		return nil, fmt.Errorf("loop: change overlay: %w", err)
	}
	changedP, err := sim.Parse(changedYAML)
	if err != nil {
		return nil, fmt.Errorf("loop: changed profiles: %w", err)
	}
	addedYAML, added, err := overlay(changedYAML, l.Added)
	if err != nil {
		return nil, fmt.Errorf("loop: added overlay: %w", err)
	}
	addedP, err := sim.Parse(addedYAML)
	if err != nil {
		return nil, fmt.Errorf("loop: profiles with the added DSP: %w", err)
	}
	if l.AddDay >= 0 && l.ChangeDay >= 0 && l.AddDay < l.ChangeDay {
		return nil, errors.New("loop: AddDay before ChangeDay is not supported (the added overlay builds on the changed profiles)")
	}
	if err := os.RemoveAll(l.Dir); err != nil {
		return nil, err
	}
	logDir, modelPath := filepath.Join(l.Dir, "bidlog"), filepath.Join(l.Dir, "models", "current.bsm")
	if err := os.MkdirAll(filepath.Dir(modelPath), 0o755); err != nil {
		return nil, err
	}

	// The first model: WarmDays of unfiltered simulated logs, in the bid-log folder
	// (retrain's window reaches back into them), through retrain with no champion.
	start := l.Start.UTC().Truncate(24 * time.Hour)
	warm := start.AddDate(0, 0, -l.WarmDays)
	fmt.Fprintf(out, "simulate: %d days x %d requests from %s (unfiltered), the first model's logs\n", l.WarmDays, l.PerDay, warm.Format(time.DateOnly))
	if _, err := offline.Run(ctx, offline.Config{Profiles: base, OutDir: logDir, RequestsPerDay: l.PerDay, Start: warm, Days: l.WarmDays, Seed: l.Seed}); err != nil {
		return nil, fmt.Errorf("loop: simulate: %w", err)
	}
	rep := &LoopReport{Figures: map[string]map[string]*LoopDay{}, Changed: changed, Added: added, Target: l.RecallTarget}
	for _, d := range addedP.DSPs {
		rep.DSPs = append(rep.DSPs, d.Name)
	}
	ropts := retrain.Options{LogDir: logDir, ModelPath: modelPath, WindowDays: l.WindowDays,
		Rule:  retrain.Rule{Tolerance: config.Defaults().Retrain.Tolerance, MinBids: int64(config.Defaults().Retrain.MinBids)},
		Train: l.Train, Logger: log}
	ropts.Train.RecallTarget = l.RecallTarget
	ropts.Train.Seed = l.Seed
	first, err := l.retrain(ctx, ropts, start, out)
	if err != nil {
		return nil, err
	}
	if !first.Promoted {
		return nil, fmt.Errorf("loop: the first model was refused: %v", first.Reasons)
	}
	rep.Initial = first.Version

	// The world: the DSP server and the gateway, on loopback, on the loop's clock.
	var simNow atomic.Int64
	simNow.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, simNow.Load()).UTC() }
	dspSrv := dspserver.New(base, dspserver.Options{Seed: l.Seed, Hours: clock, QPSWindow: time.Hour,
		Sleep: func(context.Context, time.Duration) {}})
	dsps := httptest.NewServer(dspSrv)
	defer dsps.Close()
	w, err := bidlog.NewWriter(logDir, bidlog.WriterOptions{Prefix: "gateway"})
	if err != nil {
		return nil, err
	}
	sink := &loopSink{w: w, day: map[string]*loopCounts{}, truth: map[string]map[string]int{}}
	cfgFor := func(p *sim.Profiles) *config.Config {
		c := gatewayConfig(&Config{Profiles: p, RecallTarget: l.RecallTarget, ExplorationRate: l.ExplorationRate, ShapingSeed: l.Seed, ModelPath: modelPath}, config.ModeFilter, dsps.URL)
		c.Shaping.OnDrift, c.Shaping.DriftAfter = config.DriftShadow, l.DriftAfter
		return c
	}
	model, err := serving.Load(modelPath)
	if err != nil {
		return nil, err
	}
	g, err := gateway.New(cfgFor(base), gateway.Options{BidLog: sink, Now: clock, Scorer: model, LoadModel: serving.LoadModel, Logger: log})
	if err != nil {
		return nil, err
	}
	front := httptest.NewServer(g.Handler())
	defer func() {
		front.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Close(cctx)
		_ = w.Close()
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(l.MaxInFlight, 16), IdleConnTimeout: time.Minute}}
	defer client.CloseIdleConnections()

	gen := traffic.New(base.Traffic, l.Seed)
	inForce := base // the profiles the DSP server answers with
	for day := range l.Days {
		date := start.AddDate(0, 0, day)
		name := date.Format(time.DateOnly)
		rep.Days = append(rep.Days, name)
		switch day {
		case l.ChangeDay:
			dspSrv.Reload(changedP)
			inForce = changedP
			fmt.Fprintf(out, "%s: %v change what they buy\n", name, changed)
		case l.AddDay:
			dspSrv.Reload(addedP)
			inForce = addedP
			if err := g.Apply(cfgFor(addedP)); err != nil {
				return nil, fmt.Errorf("loop: add %v to the gateway: %w", added, err)
			}
			fmt.Fprintf(out, "%s: %v join\n", name, added)
		}
		version := ""
		if m := g.Model(); m != nil {
			version = m.Meta.Version
		}
		known := map[string]bool{}
		if m := g.Model(); m != nil {
			for _, d := range m.DSPs {
				known[d.Name] = d.OK
			}
		}
		dr, err := l.serveDay(ctx, date, gen, dspSrv, func() *sim.Profiles { return inForce }, sink, &simNow, client, front.URL+"/openrtb2/auction", filepath.Join(filepath.Dir(modelPath), gateway.DriftFile))
		if err != nil {
			return nil, err
		}
		// The gateway logs an auction just after answering it: wait for the day's last rows.
		for wait := time.Now().Add(5 * time.Second); sink.logged() < int64(l.PerDay) && time.Now().Before(wait); {
			time.Sleep(time.Millisecond)
		}
		counts, logged, err := sink.take()
		if err != nil {
			return nil, fmt.Errorf("loop: bid log: %w", err)
		}
		figs := map[string]*LoopDay{}
		for _, dn := range rep.DSPs {
			c := counts[dn]
			if c == nil {
				continue
			}
			f := c.fig
			f.ExplorationRate = l.ExplorationRate
			ld := &LoopDay{Day: name, DSP: dn, Model: version, Known: known[dn], Live: f.Recall(),
				Bids: f.Bids, WouldBid: dr.truth[dn] - c.lateWould, Offered: f.Offered, Withheld: f.Withheld(),
				Late: c.late, Decisions: c.decisions, ShadowedByDrift: c.decisions[bidlog.DecisionShadow]}
			if ld.WouldBid > 0 {
				ld.True = float64(f.Bids) / float64(ld.WouldBid)
			}
			if c.would > 0 {
				ld.FilterTrue = float64(c.kept) / float64(c.would)
			}
			ld.OracleWithheld = fsAt(dr.oracle[dn], l.RecallTarget)
			if at, ok := dr.driftAt[dn]; ok {
				ld.Drift, ld.DriftAt = true, at
			}
			figs[dn] = ld
		}
		rep.Figures[name] = figs
		rep.Logged = append(rep.Logged, logged)
		writeLoopDay(out, rep, name)
		if logged != int64(l.PerDay) {
			fmt.Fprintf(out, "  %d of %d auctions logged\n", logged, l.PerDay)
		}

		// retrain after the day, the day held out, as `retrain --until` the next day.
		res, err := l.retrain(ctx, ropts, date.AddDate(0, 0, 1), out)
		if err != nil {
			return nil, err
		}
		rep.Retrains = append(rep.Retrains, *res)
		if res.Promoted {
			if err := g.ReloadModel(ctx); err != nil {
				return nil, fmt.Errorf("loop: reload the promoted model: %w", err)
			}
		}
	}
	rep.Elapsed = time.Since(began)
	return rep, nil
}

// retrain runs one round with the window ending before until.
func (l *Loop) retrain(ctx context.Context, o retrain.Options, until time.Time, out io.Writer) (*LoopRetrain, error) {
	o.Until = until
	o.Now = func() time.Time { return until }
	t0 := time.Now()
	res, err := retrain.Run(ctx, o)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		fmt.Fprintf(out, "  retrain (held out %s): failed, the champion keeps serving: %v\n", until.AddDate(0, 0, -1).Format(time.DateOnly), err)
		return &LoopRetrain{After: until.AddDate(0, 0, -1).Format(time.DateOnly), Reasons: []string{err.Error()}, Took: time.Since(t0)}, nil
	}
	e := &res.Entry
	r := &LoopRetrain{After: e.HeldOutDay.Format(time.DateOnly), Version: e.Version, Promoted: res.Promoted, Forced: e.Forced,
		Reasons: e.Reasons, PerDSP: map[string]string{}, Took: time.Since(t0), TrainRows: e.TrainRows}
	for _, d := range e.DSPs {
		r.PerDSP[d.DSP] = d.Verdict + ": " + d.Reason
	}
	verdict := "refused"
	if r.Promoted {
		verdict = "promoted"
	}
	forced := fmt.Sprint(r.Forced)
	if len(e.Drifted) > 0 {
		forced += " (drift: " + strings.Join(e.Drifted, " ") + ")"
	}
	fmt.Fprintf(out, "  retrain (held out %s, %d training rows, %s, forced %s): %s %s %v\n", r.After, r.TrainRows, r.Took.Round(time.Second), forced, r.Version, verdict, r.Reasons)
	return r, nil
}

// dayRun is what serveDay saw: per DSP the imps it would have bid on (the ground truth)
// and when the drift guard fired for it.
type dayRun struct {
	truth   map[string]int64
	driftAt map[string]time.Time
	oracle  map[string][]scored // per DSP, each request's true score and would-bids
}

// serveDay sends one day's requests (Phases stretches of Span) through the gateway, each
// first shown to the ground truth, reading the gateway's drift.json after every stretch.
func (l *Loop) serveDay(ctx context.Context, date time.Time, gen *traffic.Generator, dspSrv *dspserver.Server, profiles func() *sim.Profiles, sink *loopSink,
	simNow *atomic.Int64, client *http.Client, url, driftFile string) (*dayRun, error) {
	dr := &dayRun{truth: map[string]int64{}, driftAt: map[string]time.Time{}, oracle: map[string][]scored{}}
	inflight := make(chan struct{}, max(l.MaxInFlight, 1))
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	n := l.PerDay
	for p, h := range l.Phases {
		lo, hi := p*n/len(l.Phases), (p+1)*n/len(l.Phases)
		begin := date.Add(time.Duration(h) * time.Hour)
		for i := lo; i < hi; i++ {
			at := begin.Add(time.Duration(float64(l.Span) * float64(i-lo) / float64(hi-lo)))
			simNow.Store(at.UnixNano())
			req := gen.Next()
			t := dspSrv.Truth(req)
			for dn, k := range t {
				dr.truth[dn] += int64(k)
			}
			for _, d := range profiles().DSPs {
				dr.oracle[d.Name] = append(dr.oracle[d.Name], scored{score: trueScore(d, req, at), bids: t[d.Name]})
			}
			sink.expect(req.ID, t)
			body, err := json.Marshal(req)
			if err != nil {
				return nil, err
			}
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return nil, ctx.Err()
			}
			wg.Go(func() {
				defer func() { <-inflight }()
				if err := post(ctx, client, url, body); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
			})
		}
		wg.Wait() // the stretch's answers are in before the clock jumps
		var rep gateway.DriftReport
		if b, err := os.ReadFile(driftFile); err == nil && json.Unmarshal(b, &rep) == nil {
			for dn, d := range rep.DSPs {
				if _, seen := dr.driftAt[dn]; !seen && !d.Since.Before(date) {
					dr.driftAt[dn] = d.Since
				}
			}
		}
	}
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("loop: %d auctions failed, the first: %w", f, *firstErr.Load())
	}
	return dr, nil
}

// overlay returns base's profile file with over's `dsps:` entries put in: one of a name
// base has replaces it in place, a new one is appended. It returns the names put in.
func overlay(base, over []byte) ([]byte, []string, error) {
	if len(over) == 0 {
		return base, nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, nil, err
	}
	var o struct {
		DSPs []yaml.Node `yaml:"dsps"`
	}
	if err := yaml.Unmarshal(over, &o); err != nil {
		return nil, nil, err
	}
	dspsNode := mapValue(doc.Content[0], "dsps")
	if dspsNode == nil {
		return nil, nil, errors.New("base profiles have no dsps")
	}
	var names []string
	for i := range o.DSPs {
		n := &o.DSPs[i]
		name := mapValue(n, "name")
		if name == nil {
			return nil, nil, fmt.Errorf("overlay entry %d has no name", i)
		}
		names = append(names, name.Value)
		replaced := false
		for k, d := range dspsNode.Content {
			if dn := mapValue(d, "name"); dn != nil && dn.Value == name.Value {
				dspsNode.Content[k], replaced = n, true
			}
		}
		if !replaced {
			dspsNode.Content = append(dspsNode.Content, n)
		}
	}
	b, err := yaml.Marshal(&doc)
	return b, names, err
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// writeLoopDay prints one day's rows of the table.
func writeLoopDay(w io.Writer, rep *LoopReport, day string) {
	fmt.Fprintf(w, "%s\n  %-8s %-31s %-22s %-7s %-7s %-9s %-7s %s\n", day, "dsp", "model", "live recall [95%]", "true", "filter", "withheld", "oracle", "drift")
	names := make([]string, 0, len(rep.Figures[day]))
	for _, dn := range rep.DSPs {
		if rep.Figures[day][dn] != nil {
			names = append(names, dn)
		}
	}
	for _, dn := range names {
		f := rep.Figures[day][dn]
		late := ""
		if f.Late > 0 {
			late = fmt.Sprintf("  (%d pairs late, left out)", f.Late)
		}
		fmt.Fprintf(w, "  %-8s %-31s %-22s %-7.3f %-7.3f %-9s %-7s %s%s\n", dn, modelCell(f), liveCell(f.Live), f.True, f.FilterTrue, pct(f.Withheld), pct(f.OracleWithheld), driftCell(f), late)
	}
}

func modelCell(f *LoopDay) string {
	if !f.Known {
		return f.Model + " (unknown)"
	}
	return f.Model
}

func liveCell(iv *stats.Interval) string {
	if iv == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Estimate, iv.Lower, iv.Upper)
}

func driftCell(f *LoopDay) string {
	if !f.Drift {
		if f.ShadowedByDrift > 0 {
			return fmt.Sprintf("shadow (%d)", f.ShadowedByDrift)
		}
		return "-"
	}
	return "fired " + f.DriftAt.Format("15:04")
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// Check returns what misses issue 13's bars for the loop (empty: all met): on the change
// day each changed DSP's filter true recall falls below the target and the drift guard
// fires for it; on the day after the next retrain (the first promoted round whose
// training saw a changed day, that is whose held-out day comes after the change day) and
// on the last day each is back at minRecall or above, with traffic withheld within
// maxWithheldGap of the day before the change; the added DSP is sent everything while
// the model does not know it, and on the last day is filtered at minRecall or above.
func (r *LoopReport) Check(changeDay, addDay int, minRecall, maxWithheldGap float64) []string {
	var miss []string
	last := r.Days[len(r.Days)-1]
	if changeDay > 0 && changeDay < len(r.Days) {
		before, on := r.Days[changeDay-1], r.Days[changeDay]
		next := ""
		for i := changeDay + 1; i+1 < len(r.Days) && i < len(r.Retrains); i++ {
			if r.Retrains[i].Promoted {
				next = r.Days[i+1]
				break
			}
		}
		if next == "" {
			miss = append(miss, "no model trained on a day after the change was promoted and served")
		}
		for _, dn := range r.Changed {
			if f, pre := r.Figures[next][dn], r.Figures[before][dn]; next != "" && f != nil && pre != nil {
				if f.True < minRecall || f.FilterTrue < minRecall {
					miss = append(miss, fmt.Sprintf("%s: true recall %.3f (the filter's %.3f) on %s, after the next retrain, below %.2f", dn, f.True, f.FilterTrue, next, minRecall))
				}
				if gap := f.Withheld - pre.Withheld; gap > maxWithheldGap || -gap > maxWithheldGap {
					miss = append(miss, fmt.Sprintf("%s: withholds %s on %s, after the next retrain, against %s before the change (more than %.0f points apart)", dn, pct(f.Withheld), next, pct(pre.Withheld), 100*maxWithheldGap))
				}
			}
			f, pre, end := r.Figures[on][dn], r.Figures[before][dn], r.Figures[last][dn]
			if f == nil || pre == nil || end == nil {
				miss = append(miss, dn+": no figures around the change")
				continue
			}
			if f.FilterTrue >= r.Target {
				miss = append(miss, fmt.Sprintf("%s: the filter's true recall %.3f on %s, the change day, not below the target %.2f (the change did not bite)", dn, f.FilterTrue, on, r.Target))
			}
			if !f.Drift {
				miss = append(miss, fmt.Sprintf("%s: the drift guard did not fire on %s, the change day", dn, on))
			}
			if end.True < minRecall || end.FilterTrue < minRecall {
				miss = append(miss, fmt.Sprintf("%s: true recall %.3f (the filter's %.3f) on %s, the last day, below %.2f", dn, end.True, end.FilterTrue, last, minRecall))
			}
			if gap := end.Withheld - pre.Withheld; gap > maxWithheldGap || -gap > maxWithheldGap {
				miss = append(miss, fmt.Sprintf("%s: withholds %s on %s against %s before the change (more than %.0f points apart)", dn, pct(end.Withheld), last, pct(pre.Withheld), 100*maxWithheldGap))
			}
		}
	}
	if addDay >= 0 && addDay < len(r.Days) {
		for _, dn := range r.Added {
			for _, d := range r.Days[addDay:] {
				if f := r.Figures[d][dn]; f != nil && !f.Known && f.Withheld > 0 {
					miss = append(miss, fmt.Sprintf("%s: %s of its traffic withheld on %s by a model that does not know it", dn, pct(f.Withheld), d))
				}
			}
			end := r.Figures[last][dn]
			switch {
			case end == nil:
				miss = append(miss, dn+": no figures on the last day")
			case !end.Known || end.Withheld == 0:
				miss = append(miss, fmt.Sprintf("%s: not filtered on the last day (known %v, withheld %s)", dn, end.Known, pct(end.Withheld)))
			case end.True < minRecall || end.FilterTrue < minRecall:
				miss = append(miss, fmt.Sprintf("%s: true recall %.3f (the filter's %.3f) on the last day, below %.2f", dn, end.True, end.FilterTrue, minRecall))
			}
		}
	}
	return miss
}
