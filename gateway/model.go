package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ReloadModel loads the model file at model.path (of the configuration in force) with the
// Options.LoadModel loader, which checks it completely, and puts it in force (SetScorer):
// auctions already running finish on the model they started with. On any error, counted in
// bidsieve_model_reloads_total{result="error"}, the model in force stays. Calls are
// serialized; ctx bounds the wait for another reload and is checked before the swap.
func (g *Gateway) ReloadModel(ctx context.Context) error {
	err := g.reloadModel(ctx)
	result := "ok"
	if err != nil {
		result = "error"
	}
	g.m.modelReloads.Add(context.Background(), 1, g.m.reload[result]...)
	return err
}

func (g *Gateway) reloadModel(ctx context.Context) error {
	if g.loadModel == nil {
		return errors.New("reload model: this gateway has no model loader")
	}
	path := g.Config().Model.Path
	if path == "" {
		return errors.New("reload model: model.path is empty")
	}
	select {
	case g.reloading <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("reload model: %w", ctx.Err())
	}
	defer func() { <-g.reloading }()

	start := time.Now()
	m, err := g.loadModel(path)
	if err != nil {
		return fmt.Errorf("reload model %s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reload model %s: %w", path, err)
	}
	prev := g.state.Load().version
	g.SetScorer(m)
	f := m.File()
	g.log.Info("model loaded", "path", path, "version", f.Meta.Version, "previous", prev,
		"created_at", f.Meta.CreatedAt, "dsps", len(f.DSPs), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// everyLog lets a log line through at most once per period and counts what it held back.
type everyLog struct {
	next     atomic.Int64 // unix nanos before which lines are held back
	withheld atomic.Int64
}

// allow reports whether a line may be logged at now, and how many were held back since
// the last one.
func (e *everyLog) allow(now time.Time, period time.Duration) (bool, int64) {
	n := e.next.Load()
	if now.UnixNano() < n || !e.next.CompareAndSwap(n, now.Add(period).UnixNano()) {
		e.withheld.Add(1)
		return false, 0
	}
	return true, e.withheld.Swap(0)
}

// failLogPeriod is how often a fail-open reason is logged while it lasts.
const failLogPeriod = time.Minute

// failOpen counts an auction failing open and logs it, at most once a minute per reason.
func (g *Gateway) failOpen(ctx context.Context, why failReason, st *state, err error) {
	g.m.failOpen.Add(ctx, 1, g.m.failOpenOpts[why]...)
	ok, held := g.failLogs[why].allow(time.Now(), failLogPeriod)
	if !ok {
		return
	}
	switch why {
	case failNoModel:
		g.log.Warn("no model loaded: every eligible DSP gets every request (fail open)",
			"model_path", st.cfg.Model.Path, "auctions_since_last_line", held)
	case failModelStale:
		g.log.Warn("the model is older than model.max_age: failing open",
			"version", st.version, "created_at", st.model.Meta.CreatedAt, "max_age", st.cfg.Model.MaxAge, "auctions_since_last_line", held)
	case failModelError:
		g.log.Error("the model failed to score a request: failing open", "version", st.version, "err", err, "auctions_since_last_line", held)
	}
}

// observe reports the gauges: the DSPs' health (breaker state and opens, the window's
// ratios, the send share), thresholds, admission thresholds, live
// recall and withheld share per DSP, and the model's version and age.
func (g *Gateway) observe(_ context.Context, o metric.Observer) error {
	st := g.state.Load()
	if st == nil {
		return nil
	}
	now, figNow := time.Now(), g.now() // model age on the real clock; live figures on the gateway's
	m := g.m
	o.ObserveInt64(m.inflight, g.load.inflight.Load())
	for _, d := range st.dsps {
		h := d.rt.breaker.Stats()
		o.ObserveInt64(m.breakerState, breakerGauge(h.State), d.m.dspObs...)
		var drifted int64
		if d.rt.drift.active(st.version) {
			drifted = 1
		}
		o.ObserveInt64(m.drift, drifted, d.m.dspObs...)
		o.ObserveInt64(m.breakerOpens, int64(d.rt.opened(&h)), d.m.dspObs...)
		o.ObserveInt64(m.healthCalls, int64(h.Calls), d.m.dspObs...)
		o.ObserveFloat64(m.healthFailures, h.FailureRatio, d.m.dspObs...)
		o.ObserveFloat64(m.healthTimeouts, h.TimeoutRatio, d.m.dspObs...)
		o.ObserveFloat64(m.healthOurs, h.OursRatio, d.m.dspObs...)
		o.ObserveFloat64(m.healthLimited, h.RateLimitedRatio, d.m.dspObs...)
		o.ObserveFloat64(m.sendShare, h.SendShare, d.m.dspObs...)
		if st.model != nil && d.shaping.Mode != config.ModeOff {
			o.ObserveFloat64(m.threshold, d.threshold, metric.WithAttributes(attribute.String("dsp", d.name), attribute.String("source", d.source.String())))
		}
		if d.qpsLimit > 0 {
			o.ObserveFloat64(m.admission, d.rt.adm.threshold(), d.m.dspObs...)
		}
		f := d.figures(figNow)
		if f.Offered > 0 {
			o.ObserveFloat64(m.withheld, f.Withheld(), d.m.dspObs...)
		}
		if d.shaping.Mode != config.ModeOff {
			o.ObserveFloat64(m.recallTarget, d.shaping.RecallTarget, d.m.dspObs...)
		}
		if r := f.Recall(); r != nil {
			o.ObserveFloat64(m.liveRecall, r.Estimate, d.m.recallObs[0]...)
			o.ObserveFloat64(m.liveRecall, r.Lower, d.m.recallObs[1]...)
			o.ObserveFloat64(m.liveRecall, r.Upper, d.m.recallObs[2]...)
		}
	}
	if st.cfg.Model.MaxAge > 0 {
		o.ObserveFloat64(m.modelMaxAge, st.cfg.Model.MaxAge.Seconds())
	}
	if st.model == nil {
		o.ObserveInt64(m.modelLoaded, 0)
		return nil
	}
	o.ObserveInt64(m.modelLoaded, 1)
	o.ObserveInt64(m.modelInfo, 1, metric.WithAttributes(attribute.String("version", st.version)))
	o.ObserveFloat64(m.modelAge, now.Sub(st.model.Meta.CreatedAt).Seconds())
	return nil
}
