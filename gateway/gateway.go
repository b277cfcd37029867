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
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp"
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
	Scorer         Scorer               // nil: PassThrough (no model)
	BidLog         BidLogSink           // nil: no bid log
	// Transport carries bid requests; nil: HTTP through one tuned transport built from
	// the fanout section (also used for notices).
	Transport Transport
	// NoticeTransport carries win and loss notices; nil: the shared HTTP transport.
	NoticeTransport http.RoundTripper
	// Now is the clock for features and bid-log timestamps; nil: time.Now. Deadlines
	// always use the real clock.
	Now func() time.Time
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
	unregMet  metric.Registration

	state  atomic.Pointer[state]
	scorer atomic.Pointer[scorerBox]
	seq    atomic.Uint64
	ready  atomic.Bool

	mu       sync.Mutex // serializes Apply
	runtimes map[string]*dspRuntime

	calls sync.WaitGroup // DSP call goroutines, which may outlive their auction by a little

	closeOnce sync.Once
	closeErr  error
}

type scorerBox struct{ s Scorer }

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
		log:      o.Logger,
		m:        m,
		tracer:   o.TracerProvider.Tracer("github.com/bidsieve/bidsieve/gateway"),
		metricsH: o.MetricsHandler,
		sink:     o.BidLog,
		now:      o.Now,
		runtimes: map[string]*dspRuntime{},
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	g.seed = binary.LittleEndian.Uint64(b[:])

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
	g.SetScorer(o.Scorer)
	if err := g.apply(cfg); err != nil {
		_ = g.notifier.Close(context.Background())
		return nil, err
	}
	reg, err := meter.RegisterCallback(g.observeBreakers, m.breakerState)
	if err == nil {
		g.unregMet = reg
	}
	g.ready.Store(true)
	return g, nil
}

func (g *Gateway) observeBreakers(_ context.Context, o metric.Observer) error {
	st := g.state.Load()
	if st == nil {
		return nil
	}
	for _, d := range st.dsps {
		o.ObserveInt64(g.m.breakerState, breakerGauge(d.rt.breaker.State()), d.m.dspObs...)
	}
	return nil
}

// SetScorer replaces the Scorer (a new model); nil goes back to PassThrough. Auctions
// already scoring finish with the old one.
func (g *Gateway) SetScorer(s Scorer) {
	if s == nil {
		s = PassThrough{}
	}
	g.scorer.Store(&scorerBox{s: s})
}

// Config returns the configuration in force. It is shared: Clone it before changing it.
func (g *Gateway) Config() *config.Config { return g.state.Load().cfg }

// Apply validates cfg and, if it is valid, makes it the configuration in force: a new state
// is built completely, then swapped in atomically; breakers and QPS buckets of DSPs that
// keep their name carry over. On error the configuration in force stays. Keys that only
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
	st, runtimes, err := buildState(cfg, g.runtimes)
	if err != nil {
		return fmt.Errorf("apply config: %w", err)
	}
	if st.cfg.Auction.Seed == 0 {
		st.seed = g.seed
	} else {
		st.seed = st.cfg.Auction.Seed
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
	if a.Tracing != b.Tracing {
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
