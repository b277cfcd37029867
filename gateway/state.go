package gateway

import (
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/health"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/privacy"
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
	codes   []bidderCode    // the codes imps' bidder lists may name the DSPs by (bidders.go)
	privacy *privacy.Policy // the privacy rules (privacy.go); the vendor list read when the configuration was applied

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
	priv        privacy.DSP // what the privacy rules read of the DSP: gvl_id, third_party, ortb

	// The threshold in force (modelfile.DSP.OperatingThreshold of the model's calibration
	// and the DSP's settings); source ThresholdNone sends the DSP everything. known says
	// whether the model calibrated the DSP at all.
	threshold float64
	source    modelfile.ThresholdSource
	known     bool
}

// dspRuntime is the part of a DSP that survives reloads while the DSP keeps its name.
type dspRuntime struct {
	// breaker is the DSP's health (package dsp/health): its circuit breaker and its 429
	// back-off. It is kept while the DSP keeps its endpoint and the breaker section is
	// unchanged; otherwise a new one starts closed, its history judged another set-up.
	breaker  *health.Breaker
	endpoint string         // the endpoint the breaker judged
	settings config.Breaker // the settings it was built with
	opens    uint64         // times the DSP's earlier breakers opened (bidsieve_dsp_breaker_opens_total)
	limiter  *rate.Limiter  // rate.Inf when there is no cap
	adm      *admission     // the score an admitted request needs while the cap binds
	fig      *figures       // live figures for the admin page and the recall gauges
	drift    *drift         // the drift guard's watch of the live recall (drift.go)
	m        *dspMetrics
}

// opened returns how many times the DSP's breakers opened, the earlier ones included.
func (rt *dspRuntime) opened(s *health.Stats) uint64 { return rt.opens + s.Opens }

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
// shared except the QPS buckets' limits, which it leaves to apply. New breakers log their
// state changes to log.
func buildState(cfg *config.Config, scorer Scorer, runtimes map[string]*dspRuntime, log *slog.Logger) (*state, map[string]*dspRuntime, error) {
	rates, err := auction.NewRates(cfg.Currency.Base, cfg.Currency.Rates)
	if err != nil {
		return nil, nil, err
	}
	if scorer == nil {
		scorer = PassThrough{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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
		if rt == nil || rt.settings != cfg.Breaker || rt.endpoint != d.Endpoint {
			b, err := health.New(d.Name, cfg.Breaker, health.Options{Log: log})
			if err != nil { // cannot happen: cfg is valid
				return nil, nil, err
			}
			lim, burst := limits(d.QPSLimit)
			fresh := &dspRuntime{
				breaker:  b,
				endpoint: d.Endpoint,
				settings: cfg.Breaker,
				limiter:  rate.NewLimiter(lim, burst),
				adm:      new(admission),
				fig:      new(figures),
				drift:    new(drift),
				m:        newDSPMetrics(d.Name),
			}
			if rt != nil {
				// Keep the bucket's tokens, the admission estimate, the live figures and
				// the count of opens; only the breaker is new.
				s := rt.breaker.Stats()
				fresh.opens = rt.opened(&s)
				fresh.limiter, fresh.adm, fresh.fig, fresh.drift, fresh.m = rt.limiter, rt.adm, rt.fig, rt.drift, rt.m
				if s.State == health.Open || s.SendShare < 1 {
					log.Info("dsp breaker reset", "dsp", d.Name,
						"reason", "the breaker settings or the endpoint changed", "was", s.State.String(), "send_share", s.SendShare)
				}
			}
			rt = fresh
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
			priv:        privacy.DSPFrom(d),
		}
		if st.model != nil {
			ds.calibrate(st.model.DSPByName(d.Name))
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

// breakerGauge maps a breaker state to the bidsieve_dsp_breaker_state value: 0 closed,
// 2 open (1, half-open, is no longer used: an open breaker sends its trial share).
func breakerGauge(s health.State) int64 {
	if s == health.Open {
		return 2
	}
	return 0
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
