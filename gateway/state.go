package gateway

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"
)

// state is everything an auction reads, built from one configuration and one model and
// never changed after it is published. A configuration change or a new model builds a new
// one and swaps the pointer: an auction runs on one configuration and one model throughout.
type state struct {
	cfg     *config.Config
	rates   *auction.Rates
	dsps    []*dspState
	bidders []auction.Bidder // parallel to dsps, for auction.Run
	seed    uint64           // auction n uses seed and n for its tie-breaks
	explore uint64           // seed of the exploration draws
	conv    features.Converter
	codes   []bidderCode // the codes imps' bidder lists may name the DSPs by (bidders.go)

	scorer  Scorer          // PassThrough without a model
	scoring bool            // scorer is not PassThrough
	model   *modelfile.File // the scorer's model file; nil when it is not a Model
	version string          // the scorer's version, logged in model_version
}

// dspState is one DSP's settings in force, plus its runtime (breaker, QPS bucket) that
// outlives reloads.
type dspState struct {
	idx         int
	name        string
	enabled     bool
	endpoint    string
	timeout     time.Duration
	noticeHosts []string
	shaping     config.DSPShaping
	target      targeting
	rt          *dspRuntime
	m           *dspMetrics
	qpsLimit    int

	// The threshold in force (modelfile.DSP.OperatingThreshold of the model's calibration
	// and the DSP's settings); source ThresholdNone sends the DSP everything. known says
	// whether the model calibrated the DSP at all.
	threshold float64
	source    modelfile.ThresholdSource
	known     bool
}

// dspRuntime is the part of a DSP that survives reloads while the DSP keeps its name.
type dspRuntime struct {
	breaker         *gobreaker.TwoStepCircuitBreaker[struct{}]
	breakerSettings config.Breaker
	limiter         *rate.Limiter // rate.Inf when there is no cap
	adm             *admission    // the score an admitted request needs while the cap binds
	fig             *figures      // live figures for the admin page and the recall gauges
	m               *dspMetrics
}

// errNotCounted marks a call outcome that says nothing about the DSP's health (the
// publisher hung up, or the auction deadline was shorter than the DSP's own timeout): the
// breaker counts it neither as a success nor as a failure.
var errNotCounted = errors.New("not counted by the breaker")

func newBreaker(name string, b config.Breaker) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: b.HalfOpenRequests,
		Timeout:     b.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.ConsecutiveFailures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errNotCounted) },
	})
}

// limits returns the token bucket for a QPS cap: the burst is a hundredth of a second's
// worth (at least 1) and the rate is lowered by the burst, so that no one-second window
// ever sees more than the cap.
func limits(qps int) (rate.Limit, int) {
	if qps <= 0 {
		return rate.Inf, 0
	}
	burst := max(1, qps/100)
	r := float64(qps - burst)
	if r < float64(qps)/2 {
		r = float64(qps) / 2
	}
	return rate.Limit(r), burst
}

// buildState builds the state for cfg (already validated) and scorer, reusing the runtimes
// of DSPs in runtimes by name. It returns the runtimes of the new state; it changes nothing
// shared except the QPS buckets' limits, which it leaves to apply.
func buildState(cfg *config.Config, scorer Scorer, runtimes map[string]*dspRuntime) (*state, map[string]*dspRuntime, error) {
	rates, err := auction.NewRates(cfg.Currency.Base, cfg.Currency.Rates)
	if err != nil {
		return nil, nil, err
	}
	if scorer == nil {
		scorer = PassThrough{}
	}
	st := &state{cfg: cfg, rates: rates, scorer: scorer, version: scorer.Version()}
	_, st.scoring = scorer.(PassThrough)
	st.scoring = !st.scoring
	if m, ok := scorer.(Model); ok {
		st.model = m.File()
	}
	base := cfg.Currency.Base
	st.conv = func(amount float64, cur string) (float64, bool) { return rates.ConvertFloat(amount, cur, base) }
	st.codes = bidderCodes(cfg)
	next := make(map[string]*dspRuntime, len(cfg.DSPs))
	for i := range cfg.DSPs {
		d := &cfg.DSPs[i]
		if _, err := url.Parse(d.Endpoint); err != nil {
			return nil, nil, fmt.Errorf("dsps[%d].endpoint: %w", i, err)
		}
		rt := runtimes[d.Name]
		if rt == nil || rt.breakerSettings != cfg.Breaker {
			lim, burst := limits(d.QPSLimit)
			m := newDSPMetrics(d.Name)
			if rt != nil {
				m = rt.m
			}
			rt = &dspRuntime{
				breaker:         newBreaker(d.Name, cfg.Breaker),
				breakerSettings: cfg.Breaker,
				limiter:         rate.NewLimiter(lim, burst),
				adm:             new(admission),
				fig:             new(figures),
				m:               m,
			}
			if old := runtimes[d.Name]; old != nil {
				// Keep the bucket's tokens, the admission estimate and the live figures;
				// only the breaker is new.
				rt.limiter, rt.adm, rt.fig = old.limiter, old.adm, old.fig
			}
		}
		next[d.Name] = rt
		hosts := make([]string, len(d.NoticeHosts))
		for j, h := range d.NoticeHosts {
			hosts[j] = strings.ToLower(h)
		}
		ds := &dspState{
			idx:         i,
			name:        d.Name,
			enabled:     d.Enabled,
			endpoint:    d.Endpoint,
			timeout:     d.Timeout,
			noticeHosts: hosts,
			shaping:     d.ShapingFor(cfg.Shaping),
			target:      newTargeting(d.Targeting),
			rt:          rt,
			m:           rt.m,
			qpsLimit:    d.QPSLimit,
		}
		if st.model != nil {
			cal := st.model.DSPByName(d.Name)
			ds.known = cal != nil
			ds.threshold, ds.source = cal.OperatingThreshold(ds.shaping.Threshold, ds.shaping.RecallTarget)
		}
		st.dsps = append(st.dsps, ds)
		st.bidders = append(st.bidders, auction.Bidder{Name: d.Name, Adjustment: auction.AdjustmentFromFloat(d.BidAdjustment)})
	}
	return st, next, nil
}

// applyLimits sets every QPS bucket of st to its DSP's cap.
func applyLimits(st *state) {
	for i, d := range st.dsps {
		lim, burst := limits(st.cfg.DSPs[i].QPSLimit)
		if d.rt.limiter.Limit() != lim || d.rt.limiter.Burst() != burst {
			d.rt.limiter.SetLimit(lim)
			d.rt.limiter.SetBurst(burst)
		}
	}
}

// breakerGauge maps a breaker state to the bidsieve_dsp_breaker_state value.
func breakerGauge(s gobreaker.State) int64 {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	default:
		return 0
	}
}

// deadlineFor returns the auction's time budget for a request's tmax: tmax (or the default)
// capped at max_tmax, minus the safety margin. It may be <= 0: no time to ask anyone.
func deadlineFor(a *config.Auction, tmaxMS int64) time.Duration {
	tmax := a.DefaultTMax
	if tmaxMS > 0 {
		if tmaxMS > math.MaxInt64/int64(time.Millisecond) {
			tmaxMS = math.MaxInt64 / int64(time.Millisecond)
		}
		tmax = time.Duration(tmaxMS) * time.Millisecond
	}
	tmax = min(tmax, a.MaxTMax)
	return tmax - a.SafetyMargin
}
