package gateway

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// fakeModel is a Model whose score for a request is parsed from its id ("r-0.9-17"
// scores 0.9 for every imp and DSP), with a model file calibrating the DSPs of cal.
type fakeModel struct {
	file  *modelfile.File
	fail  atomic.Bool
	calls atomic.Int64
	// gate, when set, holds every Score call until it is closed; entered is told first.
	gate    chan struct{}
	entered chan struct{}
}

// calibration is a DSP's threshold in a fake model file: its curve has one point at
// threshold t whose recall lower bound meets the 0.95 target; ok false marks the DSP as
// served unfiltered by the model.
type calibration struct {
	t  float64
	ok bool
}

func newFakeModel(version string, created time.Time, cal map[string]calibration) *fakeModel {
	f := &modelfile.File{Meta: modelfile.Metadata{Version: version, CreatedAt: created}}
	for name, c := range cal {
		d := modelfile.DSP{Name: name, Target: 0.95, Threshold: c.t, OK: c.ok,
			Curve: []modelfile.CurvePoint{{Threshold: c.t, Recall: 0.97, RecallLower: 0.96, FilteredShare: 0.5}}}
		if !c.ok {
			d.Reason = "too few bids"
		}
		f.DSPs = append(f.DSPs, d)
	}
	return &fakeModel{file: f}
}

func (m *fakeModel) File() *modelfile.File { return m.file }
func (m *fakeModel) Version() string       { return m.file.Meta.Version }

func (m *fakeModel) Score(_ context.Context, in *ScoreInput, dst []float64) error {
	m.calls.Add(1)
	if m.entered != nil {
		m.entered <- struct{}{}
	}
	if m.gate != nil {
		<-m.gate
	}
	if m.fail.Load() {
		return errors.New("model broke")
	}
	p := scoreOfID(in.Request.ID)
	for k, pr := range in.Pairs {
		if pr.DSP == "z" { // a DSP this model does not know
			dst[k] = math.NaN()
			continue
		}
		dst[k] = p
	}
	return nil
}

// scoreOfID parses the score out of a request id "r-SCORE-N".
func scoreOfID(id string) float64 {
	parts := strings.Split(id, "-")
	if len(parts) < 2 {
		return 0
	}
	p, _ := strconv.ParseFloat(parts[1], 64)
	return p
}

func scoredRequest(score float64, n int) *openrtb2.BidRequest {
	r := request("r-"+strconv.FormatFloat(score, 'f', -1, 64)+"-"+strconv.Itoa(n), 0.1)
	r.TMax = 1000 // room for a loaded test machine
	return r
}

// rowsBy indexes bid-log rows by request id and DSP.
func rowsBy(rows []bidlog.Row) map[string]bidlog.Row {
	out := map[string]bidlog.Row{}
	for _, r := range rows {
		out[r.RequestID+"/"+r.DSP] = r
	}
	return out
}

func TestDecide(t *testing.T) {
	filter := config.DSPShaping{Mode: config.ModeFilter, RecallTarget: 0.95, ExplorationRate: 0.1}
	shadow, off := filter, filter
	shadow.Mode, off.Mode = config.ModeShadow, config.ModeOff
	dsp := func(sh config.DSPShaping, known bool, src modelfile.ThresholdSource) *dspState {
		return &dspState{shaping: sh, known: known, source: src, threshold: 0.3}
	}
	tests := []struct {
		name   string
		d      *dspState
		fail   failReason
		scored bool
		score  float64
		u      float64
		want   verdict
	}{
		{"off sends, no model asked", dsp(off, true, modelfile.ThresholdRecallTarget), failNone, false, 0, 1,
			verdict{decision: DecisionSent, propensity: 1}},
		{"fail open", dsp(filter, true, modelfile.ThresholdRecallTarget), failModelError, false, 0, 1,
			verdict{decision: DecisionFailOpen, propensity: 1}},
		{"unknown DSP: sent unfiltered", dsp(filter, false, modelfile.ThresholdNone), failNone, true, 0.01, 1,
			verdict{decision: DecisionSent, propensity: 1, unfiltered: unfilteredUnknownDSP}},
		{"no score for the DSP: sent unfiltered", dsp(filter, true, modelfile.ThresholdRecallTarget), failNone, false, 0, 1,
			verdict{decision: DecisionSent, propensity: 1, unfiltered: unfilteredUnknownDSP}},
		{"no threshold: sent unfiltered", dsp(filter, true, modelfile.ThresholdNone), failNone, true, 0.01, 1,
			verdict{decision: DecisionSent, propensity: 1, unfiltered: unfilteredNoThreshold}},
		{"at the threshold: sent", dsp(filter, true, modelfile.ThresholdRecallTarget), failNone, true, 0.3, 0,
			verdict{decision: DecisionSent, propensity: 1, threshold: 0.3}},
		{"below, drawn: explored", dsp(filter, true, modelfile.ThresholdRecallTarget), failNone, true, 0.29, 0.09,
			verdict{decision: DecisionExplored, propensity: 0.1, threshold: 0.3}},
		{"below, not drawn: filtered", dsp(filter, true, modelfile.ThresholdOverride), failNone, true, 0.29, 0.1,
			verdict{decision: DecisionFiltered, propensity: 0.1, threshold: 0.3}},
		{"shadow: sent, would send", dsp(shadow, true, modelfile.ThresholdRecallTarget), failNone, true, 0.5, 1,
			verdict{decision: DecisionShadow, propensity: 1, threshold: 0.3, would: DecisionSent}},
		{"shadow: sent, would explore", dsp(shadow, true, modelfile.ThresholdRecallTarget), failNone, true, 0.1, 0.05,
			verdict{decision: DecisionShadow, propensity: 1, threshold: 0.3, would: DecisionExplored}},
		{"shadow: sent, would filter", dsp(shadow, true, modelfile.ThresholdRecallTarget), failNone, true, 0.1, 0.5,
			verdict{decision: DecisionShadow, propensity: 1, threshold: 0.3, would: DecisionFiltered}},
		{"shadow without threshold", dsp(shadow, true, modelfile.ThresholdNone), failNone, true, 0.1, 0.5,
			verdict{decision: DecisionShadow, propensity: 1, would: DecisionSent, unfiltered: unfilteredNoThreshold}},
		{"shadow failing open", dsp(shadow, true, modelfile.ThresholdRecallTarget), failNoModel, false, 0, 1,
			verdict{decision: DecisionFailOpen, propensity: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(tt.d, tt.fail, tt.scored, tt.score, tt.u); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestExploreDraw(t *testing.T) {
	if exploreDraw(1, "req-1", "alpha") != exploreDraw(1, "req-1", "alpha") {
		t.Fatal("the draw is not a function of (seed, request, DSP)")
	}
	if exploreDraw(1, "ab", "c") == exploreDraw(1, "a", "bc") {
		t.Error("request id and DSP name run together")
	}
	const n = 200000
	var below, sum float64
	diff := 0
	for i := range n {
		id := "req-" + strconv.Itoa(i)
		u := exploreDraw(7, id, "alpha")
		if u < 0 || u >= 1 {
			t.Fatalf("draw %v outside [0, 1)", u)
		}
		sum += u
		if u < 0.02 {
			below++
		}
		if u != exploreDraw(8, id, "alpha") {
			diff++
		}
	}
	// 0.02 of the pairs explored, within 4 standard deviations; mean 0.5.
	if sd := math.Sqrt(0.02 * 0.98 / n); math.Abs(below/n-0.02) > 4*sd {
		t.Errorf("share below 0.02: %v", below/n)
	}
	if math.Abs(sum/n-0.5) > 0.005 {
		t.Errorf("mean draw %v", sum/n)
	}
	if diff < n*99/100 {
		t.Errorf("another seed changed only %d of %d draws", diff, n)
	}
}

// The exploration draws and the auctions' tie-break seeds are pinned: a change of the hash
// would silently explore other requests (and break a replay of the same traffic). The
// values are those that the gateway's own FNV-1a and splitmix64 code gave before it used
// package rnd.
func TestDrawsArePinned(t *testing.T) {
	draws := []struct {
		seed    uint64
		id, dsp string
		want    float64
	}{
		{0, "", "", 0.007311331266183663},
		{1, "req-1", "alpha", 0.882789617152289},
		{11, "r42", "dsp3", 0.6173963385933449},
		{0xdeadbeefcafef00d, "auction-7f3a", "beta", 0.894692495836737},
	}
	for _, d := range draws {
		if got := exploreDraw(d.seed, d.id, d.dsp); got != d.want {
			t.Errorf("exploreDraw(%d, %q, %q) = %v, want %v", d.seed, d.id, d.dsp, got, d.want)
		}
	}
	seeds := []struct{ seq, want uint64 }{
		{0, 16294208416658607535}, {1, 10451216379200822465}, {2, 10905525725756348110}, {12345, 2454886589211414944},
	}
	for _, s := range seeds {
		if got := auctionSeed(0, s.seq); got != s.want {
			t.Errorf("auctionSeed(0, %d) = %d, want %d", s.seq, got, s.want)
		}
		if got := auctionSeed(7, s.seq); got != 7^s.want {
			t.Errorf("auctionSeed(7, %d) = %d, want %d", s.seq, got, 7^s.want)
		}
	}
}

// shapingGateway is a test gateway in front of fake DSPs a, b, c (and more) with m as its
// model, exploration rate 0.25 and a fixed shaping seed; rows go to the returned sink.
func shapingGateway(t *testing.T, m Scorer, change func(*config.Config), dsps ...*fakeDSP) (*testGateway, *memSink) {
	t.Helper()
	return shapingGatewayWith(t, m, change, nil, dsps...)
}

// shapingGatewayWith is shapingGateway with more options (a clock): opts may be nil.
func shapingGatewayWith(t *testing.T, m Scorer, change func(*config.Config), opts func(*Options), dsps ...*fakeDSP) (*testGateway, *memSink) {
	t.Helper()
	cfg := testConfig(dsps...)
	cfg.Shaping.ExplorationRate = 0.25
	cfg.Shaping.Seed = 11
	for i := range cfg.DSPs {
		cfg.DSPs[i].Timeout = 900 * time.Millisecond // fake DSPs answer at once, unless the machine is loaded
	}
	cfg.Breaker.MinCalls = 1 << 20 // nor do timeouts on a loaded machine open breakers
	if change != nil {
		change(cfg)
	}
	sink := &memSink{}
	tg := newTestGateway(t, cfg, func(o *Options) {
		o.Scorer, o.BidLog = m, sink
		if opts != nil {
			opts(o)
		}
	})
	return tg, sink
}

func TestFilterSendsOnScoreAndExplores(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	b := newFakeDSP(t, noBid)
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}, "b": {0.05, true}})
	tg, sink := shapingGateway(t, m, nil, a, b)
	const n = 400
	for i := range n {
		score := 0.9
		if i%2 == 1 {
			score = 0.1
		}
		tg.post(t, scoredRequest(score, i))
	}
	tg.quiesce()
	rows := sink.all()
	if len(rows) != 2*n {
		t.Fatalf("%d rows, want %d", len(rows), 2*n)
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r.DSP+"/"+r.Decision]++
		score := scoreOfID(r.RequestID)
		if r.ModelVersion != "m1" || !near(r.Score, score) {
			t.Fatalf("row %+v: want model m1 and score %v", r, score)
		}
		switch {
		case r.DSP == "a" && score == 0.9:
			if r.Decision != "sent" || r.Propensity != 1 || r.Threshold != 0.5 || r.Outcome != "bid" {
				t.Fatalf("a, above its threshold: %+v", r)
			}
		case r.DSP == "a":
			if (r.Decision != "explored" && r.Decision != "filtered") || r.Propensity != 0.25 || r.Threshold != 0.5 {
				t.Fatalf("a, below its threshold: %+v", r)
			}
			if (r.Decision == "filtered") != (r.Outcome == "not_sent") {
				t.Fatalf("a: decision %s with outcome %s", r.Decision, r.Outcome)
			}
			if r.Decision == "explored" && exploreDraw(11, r.RequestID, "a") >= 0.25 {
				t.Fatalf("a: explored without the draw: %+v", r)
			}
		default:
			if r.Decision != "sent" || r.Threshold != 0.05 {
				t.Fatalf("b, above its threshold 0.05: %+v", r)
			}
		}
	}
	explored := count["a/explored"]
	if sd := math.Sqrt(n / 2 * 0.25 * 0.75); math.Abs(float64(explored)-n/2*0.25) > 4*sd {
		t.Errorf("a explored %d of %d requests below its threshold at rate 0.25", explored, n/2)
	}
	if got := a.hits.Load(); got != int64(n/2+explored) {
		t.Errorf("a received %d requests, want %d sent + %d explored", got, n/2, explored)
	}
	if got := b.hits.Load(); got != n {
		t.Errorf("b received %d, want all %d", got, n)
	}
	for dec, want := range map[string]int{"sent": n / 2, "explored": explored, "filtered": n/2 - explored} {
		if got := tg.metric(t, "bidsieve_dsp_decisions_total", "dsp", "a", "decision", dec); got != int64(want) {
			t.Errorf("decisions{a,%s} = %d, want %d", dec, got, want)
		}
	}
	if got := tg.metric(t, "bidsieve_dsp_decision_bids_total", "dsp", "a", "decision", "explored"); got != int64(explored) {
		t.Errorf("bids on explored requests %d, want %d", got, explored)
	}

	// Live figures: a's recall estimate is B_sent / (B_sent + B_explored / 0.25), and it
	// withholds the filtered half.
	f := tg.g.Figures()["a"]
	if f.Offered != n || f.Sent != n/2 || f.Explored != int64(explored) || f.Filtered != int64(n/2-explored) || f.Bids != int64(n/2+explored) {
		t.Errorf("figures %+v", f)
	}
	wantRecall := float64(n/2) / (float64(n/2) + float64(explored)/0.25)
	if r := f.Recall(); r == nil || !near(r.Estimate, wantRecall) || r.Lower >= wantRecall || r.Upper <= wantRecall {
		t.Errorf("recall %+v, want %v inside its interval", r, wantRecall)
	}
	if !near(f.Withheld(), float64(n/2-explored)/n) {
		t.Errorf("withheld %v", f.Withheld())
	}
	if got := tg.floatMetric(t, "bidsieve_dsp_live_recall", "dsp", "a", "bound", "estimate"); !near(got, wantRecall) {
		t.Errorf("live recall gauge %v, want %v", got, wantRecall)
	}
	if got := tg.floatMetric(t, "bidsieve_dsp_threshold", "dsp", "a", "source", "recall_target"); got != 0.5 {
		t.Errorf("threshold gauge %v", got)
	}
	if got, want := tg.floatMetric(t, "bidsieve_dsp_recall_target", "dsp", "a"), tg.g.Config().Shaping.RecallTarget; got != want {
		t.Errorf("recall target gauge %v, want shaping.recall_target %v", got, want)
	}
	if got := tg.metric(t, "bidsieve_model_info", "version", "m1"); got != 1 {
		t.Errorf("model info gauge %d", got)
	}
}

func TestThresholdOverridesAndUnfilteredDSPs(t *testing.T) {
	a, b, c, z := newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid)
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}, "b": {0.5, true}, "c": {0.5, false}})
	tg, sink := shapingGateway(t, m, func(c *config.Config) {
		c.Shaping.ExplorationRate = 0
		th := 0.95
		c.DSPs[0].Threshold = &th // a: by hand, above the 0.9 score
		c.DSPs[3].Name = "z"      // unknown to the model
		c.DSPs[3].Endpoint = z.srv.URL + "/bid/z"
	}, a, b, c, z)
	tg.post(t, scoredRequest(0.9, 1))
	tg.post(t, scoredRequest(0.1, 2))
	tg.quiesce()
	got := map[string]string{}
	for k, r := range rowsBy(sink.all()) {
		got[k] = r.Decision
	}
	want := map[string]string{
		"r-0.9-1/a": "filtered", "r-0.1-2/a": "filtered", // the override, not the curve's 0.5
		"r-0.9-1/b": "sent", "r-0.1-2/b": "filtered",
		"r-0.9-1/c": "sent", "r-0.1-2/c": "sent", // no threshold (not OK): unfiltered
		"r-0.9-1/z": "sent", "r-0.1-2/z": "sent", // unknown to the model: unfiltered
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	if n := tg.metric(t, "bidsieve_dsp_unfiltered_total", "dsp", "c", "reason", "no_threshold"); n != 2 {
		t.Errorf("unfiltered{c,no_threshold} = %d", n)
	}
	if n := tg.metric(t, "bidsieve_dsp_unfiltered_total", "dsp", "z", "reason", "unknown_dsp"); n != 2 {
		t.Errorf("unfiltered{z,unknown_dsp} = %d", n)
	}
	if g := tg.floatMetric(t, "bidsieve_dsp_threshold", "dsp", "a", "source", "threshold"); g != 0.95 {
		t.Errorf("a's threshold gauge %v, want 0.95 (set by hand)", g)
	}
}

func TestShadowSendsAllAndLogsTheFiltersDecision(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}})
	tg, sink := shapingGateway(t, m, func(c *config.Config) { c.Shaping.Mode = config.ModeShadow }, a)
	const n = 200
	for i := range n {
		tg.post(t, scoredRequest([]float64{0.9, 0.1}[i%2], i))
	}
	tg.quiesce()
	if got := a.hits.Load(); got != n {
		t.Errorf("a received %d of %d requests in shadow mode", got, n)
	}
	would := map[string]int64{}
	for _, r := range sink.all() {
		if r.Decision != "shadow" || r.Propensity != 1 || r.Threshold != 0.5 || r.Outcome != "bid" {
			t.Fatalf("row %+v", r)
		}
		switch {
		case r.Score >= r.Threshold:
			would["sent"]++
		case exploreDraw(11, r.RequestID, "a") < 0.25:
			would["explored"]++
		default:
			would["filtered"]++
		}
	}
	for dec, want := range would {
		if got := tg.metric(t, "bidsieve_dsp_shadow_decisions_total", "dsp", "a", "decision", dec); got != want {
			t.Errorf("shadow decisions{%s} = %d, want %d recovered from the rows", dec, got, want)
		}
	}
	// The recall of what the filter would keep is measured directly: half the bids.
	f := tg.g.Figures()["a"]
	if r := f.Recall(); r == nil || r.Estimate != 0.5 || r.Lower > 0.5 || r.Upper < 0.5 {
		t.Errorf("shadow recall %+v, want 0.5", r)
	}
}

func TestFailOpen(t *testing.T) {
	old := time.Now().Add(-48 * time.Hour)
	tests := []struct {
		name   string
		scorer func() *fakeModel // nil: no model
		maxAge time.Duration
		reason string
		calls  int64
	}{
		{"no model", nil, 0, "no_model", 0},
		{"model error", func() *fakeModel {
			m := newFakeModel("m1", old, map[string]calibration{"a": {0.5, true}})
			m.fail.Store(true)
			return m
		}, 0, "model_error", 2},
		{"model too old", func() *fakeModel { return newFakeModel("m1", old, map[string]calibration{"a": {0.5, true}}) }, 24 * time.Hour, "model_stale", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeDSP(t, noBid)
			var m *fakeModel
			var sc Scorer
			if tt.scorer != nil {
				m = tt.scorer()
				sc = m
			}
			tg, sink := shapingGateway(t, sc, func(c *config.Config) { c.Model.MaxAge = tt.maxAge }, a)
			tg.post(t, scoredRequest(0.1, 1))
			tg.post(t, scoredRequest(0.1, 2))
			tg.quiesce()
			for _, r := range sink.all() {
				if r.Decision != "fail_open" || r.Outcome == "not_sent" {
					t.Errorf("row %+v, want fail_open and sent", r)
				}
			}
			if a.hits.Load() != 2 {
				t.Errorf("a received %d of 2", a.hits.Load())
			}
			if n := tg.metric(t, "bidsieve_fail_open_total", "reason", tt.reason); n != 2 {
				t.Errorf("fail_open_total{%s} = %d, want 2", tt.reason, n)
			}
			if m != nil && m.calls.Load() != tt.calls {
				t.Errorf("the model was asked %d times, want %d", m.calls.Load(), tt.calls)
			}
			if tt.maxAge > 0 { // the alert compares the age with the limit
				if got := tg.floatMetric(t, "bidsieve_model_max_age_seconds"); got != tt.maxAge.Seconds() {
					t.Errorf("model max age gauge %v, want %v", got, tt.maxAge.Seconds())
				}
				if age := tg.floatMetric(t, "bidsieve_model_age_seconds"); age <= tt.maxAge.Seconds() {
					t.Errorf("model age gauge %v, want above the limit %v", age, tt.maxAge.Seconds())
				}
			}
		})
	}
}

func TestModeOffDoesNotScore(t *testing.T) {
	a := newFakeDSP(t, noBid)
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}})
	tg, sink := shapingGateway(t, m, func(c *config.Config) { c.Shaping.Mode = config.ModeOff }, a)
	tg.post(t, scoredRequest(0.1, 1))
	tg.quiesce()
	if m.calls.Load() != 0 || a.hits.Load() != 1 {
		t.Errorf("mode off: model asked %d times, DSP got %d requests; want 0 and 1", m.calls.Load(), a.hits.Load())
	}
	if rows := sink.all(); len(rows) != 1 || rows[0].Decision != "sent" || rows[0].Score != 0 {
		t.Errorf("rows %+v", rows)
	}
}

func TestReloadModelSwapsAtomically(t *testing.T) {
	a := newFakeDSP(t, noBid)
	m1 := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}})
	m2 := newFakeModel("m2", time.Now(), map[string]calibration{"a": {0.05, true}})
	var next atomic.Pointer[fakeModel]
	loads := atomic.Int64{}
	cfg := testConfig(a)
	cfg.Shaping.ExplorationRate = 0
	cfg.Model.Path = "model.bsm"
	sink := &memSink{}
	tg := newTestGateway(t, cfg, func(o *Options) {
		o.BidLog = sink
		o.LoadModel = func(path string) (Model, error) {
			loads.Add(1)
			if path != "model.bsm" {
				return nil, errors.New("wrong path " + path)
			}
			if m := next.Load(); m != nil {
				return m, nil
			}
			return nil, errors.New("bad model file")
		}
	})
	ctx := context.Background()
	if err := tg.g.ReloadModel(ctx); err == nil || tg.g.Model() != nil {
		t.Fatalf("a bad file: err %v, model %v; want an error and still no model", err, tg.g.Model())
	}
	next.Store(m1)
	if err := tg.g.ReloadModel(ctx); err != nil || tg.g.Model() != m1.file {
		t.Fatalf("reload m1: %v", err)
	}

	// An auction scoring with m1 when m2 comes in finishes on m1.
	m1.gate, m1.entered = make(chan struct{}), make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tg.post(t, scoredRequest(0.1, 1)) // m1 filters it (0.1 < 0.5)
	}()
	<-m1.entered
	next.Store(m2)
	if err := tg.g.ReloadModel(ctx); err != nil {
		t.Fatal(err)
	}
	next.Store(nil)
	if err := tg.g.ReloadModel(ctx); err == nil {
		t.Fatal("a bad file after m2 loaded")
	}
	close(m1.gate)
	<-done
	tg.post(t, scoredRequest(0.1, 2)) // m2 sends it (0.1 >= 0.05)
	tg.quiesce()
	rows := rowsBy(sink.all())
	if r := rows["r-0.1-1/a"]; r.ModelVersion != "m1" || r.Decision != "filtered" || r.Threshold != 0.5 {
		t.Errorf("the in-flight auction: %+v; want m1's decision", r)
	}
	if r := rows["r-0.1-2/a"]; r.ModelVersion != "m2" || r.Decision != "sent" || r.Threshold != 0.05 {
		t.Errorf("after the swap: %+v; want m2 (the bad file after it kept it)", r)
	}
	if tg.g.Model() != m2.file {
		t.Error("the model in force is not m2")
	}
	if ok, bad := tg.metric(t, "bidsieve_model_reloads_total", "result", "ok"), tg.metric(t, "bidsieve_model_reloads_total", "result", "error"); ok != 2 || bad != 2 {
		t.Errorf("reloads ok %d, error %d; want 2 and 2", ok, bad)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tg.g.reloading <- struct{}{} // another reload in progress
	if err := tg.g.ReloadModel(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("reload behind another with a canceled context: %v", err)
	}
	<-tg.g.reloading
}

func TestQPSCapAdmitsTheHighestScores(t *testing.T) {
	a := newFakeDSP(t, noBid)
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.001, true}})
	tg, sink := shapingGateway(t, m, func(c *config.Config) {
		c.Shaping.ExplorationRate = 0
		c.DSPs[0].QPSLimit = 20
	}, a)
	// 120 requests a second for 3 seconds, scores spread evenly over (0, 1), 6 times the
	// cap: after the first second the estimate knows the distribution and the highest
	// scores go first.
	const rate, seconds, limit = 120, 3, 20
	start := time.Now()
	var wg sync.WaitGroup
	for i := range rate * seconds {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
		score := float64((i*37)%rate+1) / (rate + 1)
		wg.Go(func() { tg.post(t, scoredRequest(score, i)) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	tg.quiesce()
	var sent, all []float64
	for _, r := range sink.all() {
		n, _ := strconv.Atoi(r.RequestID[strings.LastIndex(r.RequestID, "-")+1:])
		if n < rate { // the first second: no estimate yet
			continue
		}
		all = append(all, r.Score)
		if r.Decision == "sent" {
			sent = append(sent, r.Score)
		} else if r.Decision != "throttled" {
			t.Fatalf("row %+v, want sent or throttled", r)
		}
	}
	if len(sent) == 0 {
		t.Fatal("nothing sent after the first second")
	}
	if most := (elapsed.Seconds() + 1) * limit; float64(a.hits.Load()) > most {
		t.Errorf("%d sent in %v at a cap of %d/s", a.hits.Load(), elapsed, limit)
	}
	// Offered scores average 0.5; the cap admits the top 16% or so (0.95 x 20 of 120 a
	// second, more when a loaded machine sends slower): scores above about 0.85.
	if ms, ma := mean(sent), mean(all); ms < 0.75 || ma > 0.55 {
		t.Errorf("mean score %.2f sent under the cap, %.2f offered; the highest scores should go first", ms, ma)
	}
	if th := tg.floatMetric(t, "bidsieve_dsp_admission_threshold", "dsp", "a"); th < 0.5 || th > 0.95 {
		t.Errorf("admission threshold gauge %v, want about 0.85", th)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func TestAdmission(t *testing.T) {
	var a admission
	t0 := time.Unix(1000, 0)
	// 1,000 requests a second, scores evenly spread on (0, 1), cap 100: after a second,
	// only the top 9.5% (0.95 x 100) go on.
	admitted := 0
	for s := range 3 {
		for i := range 1000 {
			score := (float64(i) + 0.5) / 1000
			now := t0.Add(time.Duration(s)*time.Second + time.Duration(i)*time.Millisecond)
			if a.admit(score, now, 100) && s == 2 {
				admitted++
			}
		}
	}
	if admitted < 80 || admitted > 110 {
		t.Errorf("%d of 1000 admitted in a second at a cap of 100", admitted)
	}
	if th := a.threshold(); th < 0.88 || th > 0.92 {
		t.Errorf("threshold %v, want about 0.905", th)
	}
	// Traffic drops under the cap: everything goes again after the next window.
	now := t0.Add(10 * time.Second)
	for i := range 50 {
		a.admit(0.01, now.Add(time.Duration(i)*20*time.Millisecond), 100)
	}
	if !a.admit(0.01, now.Add(1100*time.Millisecond), 100) || a.threshold() != 0 {
		t.Errorf("under the cap: threshold %v", a.threshold())
	}
}

func TestFiguresWindow(t *testing.T) {
	var f figures
	t0 := time.Unix(6000, 0)
	f.add(t0, &figCounts{offered: 1, bids: 2})
	f.add(t0.Add(10*time.Minute), &figCounts{offered: 1})
	c, span := f.window(t0.Add(10 * time.Minute))
	if c.offered != 2 || c.bids != 2 || span != 10*time.Minute {
		t.Errorf("after 10 minutes: %+v over %v", c, span)
	}
	c, span = f.window(t0.Add(20 * time.Minute))
	if c.offered != 1 || c.bids != 0 || span != FiguresWindow {
		t.Errorf("after 20 minutes: %+v over %v; the first minute has left the window", c, span)
	}
	f.add(t0.Add(16*time.Minute), &figCounts{offered: 5}) // reuses the first minute's slot
	if c, _ := f.window(t0.Add(16 * time.Minute)); c.offered != 6 {
		t.Errorf("slot reuse: %+v", c)
	}
}

func TestScorerPanicFailsOpen(t *testing.T) {
	a := newFakeDSP(t, noBid)
	tg, sink := shapingGateway(t, panicScorer{}, nil, a)
	if status, _ := tg.post(t, scoredRequest(0.1, 1)); status != http.StatusNoContent {
		t.Errorf("status %d, want 204", status)
	}
	tg.quiesce()
	if rows := sink.all(); len(rows) != 1 || rows[0].Decision != "fail_open" {
		t.Errorf("rows %+v", rows)
	}
	if n := tg.metric(t, "bidsieve_fail_open_total", "reason", "model_error"); n != 1 {
		t.Errorf("fail_open{model_error} = %d", n)
	}
}

type panicScorer struct{}

func (panicScorer) Score(context.Context, *ScoreInput, []float64) error { panic("index out of range") }
func (panicScorer) Version() string                                     { return "broken" }

// quiesce stops the HTTP server, waiting for the handlers (which log rows and count the
// live figures after answering), but keeps the gateway open so that its gauges can be read.
func (tg *testGateway) quiesce() { tg.srv.Close() }
