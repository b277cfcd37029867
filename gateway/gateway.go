package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp"
	"github.com/bidsieve/bidsieve/modelfile"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Transport carries one bid request to a DSP: it posts the OpenRTB JSON body to endpoint
// and writes the answer's body into buf, returning the HTTP status (200 with a body, 204
// for no bid). *dsp.Client is the real one; benchmarks stub it to take the network out.
type Transport interface {
	Post(ctx context.Context, endpoint string, body []byte, buf *bytes.Buffer) (int, error)
}

var _ Transport = (*dsp.Client)(nil)

// Options are the gateway's dependencies; every one may be left zero.
type Options struct {
	Logger         *slog.Logger         // nil: no logs
	MeterProvider  metric.MeterProvider // nil: no metrics
	TracerProvider trace.TracerProvider // nil: no traces
	MetricsHandler http.Handler         // served at GET /metrics; nil: 404
	// Scorer is the model at start; nil: PassThrough (no model) until LoadModel loads one.
	Scorer Scorer
	// LoadModel loads and checks a model file (ReloadModel); nil: ReloadModel fails.
	LoadModel ModelLoader
	BidLog    BidLogSink // nil: no bid log
	// Transport carries bid requests; nil: HTTP through one tuned transport built from
	// the fanout section (also used for notices).
	Transport Transport
	// NoticeTransport carries win and loss notices; nil: the shared HTTP transport.
	NoticeTransport http.RoundTripper
	// Now is the clock for features and bid-log timestamps; nil: time.Now. Deadlines
	// always use the real clock.
	Now func() time.Time
	// FanoutHook, a test hook, is called by every auction that sends calls, just before
	// its fan-out starts; nil: none. A sleep in it makes the gateway artificially slow
	// (every auction starts its calls late), which the DSPs' health must not blame on
	// the DSPs.
	FanoutHook func()
}

// Gateway is the serving core. Build one with New, serve Handler, change settings with
// Apply, stop with Close.
type Gateway struct {
	log       *slog.Logger
	m         *metrics
	tracer    trace.Tracer
	metricsH  http.Handler
	transport Transport
	httpTr    *http.Transport // the shared transport when the gateway built it; nil otherwise
	notifier  *dsp.Notifier
	sink      BidLogSink
	now       func() time.Time
	seed      uint64 // random seed drawn at start, for auction.seed 0
	explore   uint64 // random seed drawn at start, for shaping.seed 0
	loadModel ModelLoader
	unregMet  metric.Registration

	fanoutHook func() // Options.FanoutHook
	load       *overload
	drift      driftCheck

	state atomic.Pointer[state]
	seq   atomic.Uint64
	ready atomic.Bool

	mu       sync.Mutex // serializes state changes (Apply, SetScorer)
	scorer   Scorer     // the scorer in force; guarded by mu
	runtimes map[string]*dspRuntime

	reloading chan struct{} // a semaphore of 1: serializes ReloadModel
	failLogs  [numFailReasons]everyLog

	calls sync.WaitGroup // DSP call goroutines, which may outlive their auction by a little

	closeOnce sync.Once
	closeErr  error
}

// New builds a gateway serving cfg, which must be valid (config.Load validates).
func New(cfg *config.Config, o Options) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TracerProvider == nil {
		o.TracerProvider = tracenoop.NewTracerProvider()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, meter := newMetrics(o.MeterProvider)
	g := &Gateway{
		log:       o.Logger,
		m:         m,
		tracer:    o.TracerProvider.Tracer("github.com/bidsieve/bidsieve/gateway"),
		metricsH:  o.MetricsHandler,
		sink:      o.BidLog,
		now:       o.Now,
		loadModel: o.LoadModel,
		scorer:    o.Scorer,
		runtimes:  map[string]*dspRuntime{},
		reloading: make(chan struct{}, 1),
		load:      newOverload(),
	}
	g.fanoutHook = o.FanoutHook
	var b [16]byte
	_, _ = rand.Read(b[:])
	g.seed = binary.LittleEndian.Uint64(b[:8])
	g.explore = binary.LittleEndian.Uint64(b[8:])

	g.transport = o.Transport
	noticeTr := o.NoticeTransport
	if g.transport == nil || noticeTr == nil {
		g.httpTr = dsp.NewTransport(dsp.TransportOptions{
			MaxIdleConnsPerHost: cfg.Fanout.MaxIdleConnsPerHost,
			DialTimeout:         cfg.Fanout.DialTimeout,
			IdleConnTimeout:     cfg.Fanout.IdleConnTimeout,
		})
		if g.transport == nil {
			g.transport = dsp.NewClient(g.httpTr, cfg.Fanout.MaxResponseBytes)
		}
		if noticeTr == nil {
			noticeTr = g.httpTr
		}
	}
	g.notifier = dsp.NewNotifier(dsp.NotifierOptions{
		Transport: noticeTr,
		Workers:   cfg.Notices.Workers,
		Queue:     cfg.Notices.Queue,
		Timeout:   cfg.Notices.Timeout,
		Logger:    o.Logger,
		Meter:     meter,
	})
	if err := g.apply(cfg); err != nil {
		_ = g.notifier.Close(context.Background())
		return nil, err
	}
	reg, err := meter.RegisterCallback(g.observe, m.observables()...)
	if err == nil {
		g.unregMet = reg
	}
	g.ready.Store(true)
	return g, nil
}

// SetScorer puts a new Scorer (a new model) in force; nil goes back to PassThrough (no
// model). The new state (thresholds from the model's calibration) is built completely, then
// swapped in: auctions already running finish with the scorer they started with.
func (g *Gateway) SetScorer(s Scorer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.state.Load()
	next, runtimes, err := buildState(st.cfg, s, g.runtimes, g.log)
	if err != nil { // cannot happen: the configuration in force built before
		g.log.Error("set scorer", "err", err)
		return
	}
	next.seed, next.explore, next.privacy = st.seed, st.explore, st.privacy
	g.scorer = s
	g.state.Store(next)
	g.runtimes = runtimes
}

// Model returns the model file in force, or nil when there is none (or the scorer in
// force is not a Model). The caller must not modify it.
func (g *Gateway) Model() *modelfile.File { return g.state.Load().model }

// Config returns the configuration in force. It is shared: Clone it before changing it.
func (g *Gateway) Config() *config.Config { return g.state.Load().cfg }

// Apply validates cfg and, if it is valid, makes it the configuration in force: a new state
// is built completely, then swapped in atomically; QPS buckets of DSPs that keep their name
// carry over, and so do their breakers (their health) while their endpoint and the breaker
// section are unchanged. On error the configuration in force stays. Keys that only
// take effect at start (listen, admin_listen, fanout, notices, log, tracing) are logged
// when they change and otherwise ignored.
func (g *Gateway) Apply(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		g.m.reloads.Add(context.Background(), 1, g.m.reload["error"]...)
		return fmt.Errorf("apply config: %w", err)
	}
	if err := g.apply(cfg); err != nil {
		g.m.reloads.Add(context.Background(), 1, g.m.reload["error"]...)
		return err
	}
	g.m.reloads.Add(context.Background(), 1, g.m.reload["ok"]...)
	return nil
}

// Reload loads the configuration again, as config.Load does (the file at path, or the
// embedded defaults for "", then the BIDSIEVE_ variables of environ), and applies it. On
// any error, counted in bidsieve_config_reloads_total{result="error"}, the configuration
// in force stays.
func (g *Gateway) Reload(path string, environ []string) error {
	cfg, err := config.Load(path, environ)
	if err != nil {
		g.m.reloads.Add(context.Background(), 1, g.m.reload["error"]...)
		return err
	}
	return g.Apply(cfg)
}

func (g *Gateway) apply(cfg *config.Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	pol, err := newPolicy(cfg)
	if err != nil {
		return fmt.Errorf("apply config: %w", err)
	}
	st, runtimes, err := buildState(cfg, g.scorer, g.runtimes, g.log)
	if err != nil {
		return fmt.Errorf("apply config: %w", err)
	}
	st.seed, st.explore, st.privacy = g.seed, g.explore, pol
	if cfg.Auction.Seed != 0 {
		st.seed = cfg.Auction.Seed
	}
	if cfg.Shaping.Seed != 0 {
		st.explore = cfg.Shaping.Seed
	}
	if old := g.state.Load(); old != nil {
		for _, key := range restartOnly(old.cfg, cfg) {
			g.log.Warn("config key changed; it takes effect at the next start", "key", key)
		}
	}
	g.state.Store(st)
	g.runtimes = runtimes
	applyLimits(st)
	return nil
}

// restartOnly lists the keys that differ between a and b but only take effect at start.
func restartOnly(a, b *config.Config) []string {
	var keys []string
	if a.Listen != b.Listen {
		keys = append(keys, "listen")
	}
	if a.AdminListen != b.AdminListen {
		keys = append(keys, "admin_listen")
	}
	if a.Fanout != b.Fanout {
		keys = append(keys, "fanout")
	}
	if a.Notices != b.Notices {
		keys = append(keys, "notices")
	}
	if a.Log != b.Log {
		keys = append(keys, "log")
	}
	if !reflect.DeepEqual(a.Tracing, b.Tracing) {
		keys = append(keys, "tracing")
	}
	return keys
}

// Drain marks the gateway not ready (/readyz answers 503) so that load balancers stop
// sending; auctions keep being served. Call it at the start of a graceful stop.
func (g *Gateway) Drain() { g.ready.Store(false) }

// Close waits for the DSP calls still running (they end by their deadlines), then fires the
// queued notices, until ctx ends. Call it after the HTTP server has shut down, so that no
// auction is in flight: an auction still finishing would find the notifier closed and its
// notices dropped. Later calls return the first call's result.
func (g *Gateway) Close(ctx context.Context) error {
	g.closeOnce.Do(func() { g.closeErr = g.close(ctx) })
	return g.closeErr
}

func (g *Gateway) close(ctx context.Context) error {
	g.Drain()
	done := make(chan struct{})
	go func() { g.calls.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("wait for DSP calls: %w", ctx.Err()))
	}
	if err := g.notifier.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("drain notices: %w", err))
	}
	if g.unregMet != nil {
		if err := g.unregMet.Unregister(); err != nil {
			errs = append(errs, err)
		}
	}
	if g.httpTr != nil {
		g.httpTr.CloseIdleConnections()
	}
	return errors.Join(errs...)
}
