package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/gateway/telemetry"
	"github.com/bidsieve/bidsieve/predictor/serving"
	"github.com/bidsieve/bidsieve/simclock"
)

// modelReloadTimeout bounds one model reload (read, checks, preparation).
const modelReloadTimeout = 2 * time.Minute

// runServe is `bidsieve serve [--config FILE]`: the gateway on cfg.listen and the admin API
// on cfg.admin_listen until ctx ends (SIGINT, SIGTERM), then a graceful stop.
//
// Start: the configuration (file or embedded defaults, then BIDSIEVE_ variables), the
// settings store's overrides merged over it (a corrupt or unreachable store refuses the
// start unless --store-optional), the model at model.path (a missing or bad file runs the
// gateway failing open, loudly, until a good file appears), the bid log, the gateway.
//
// Running: SIGHUP and changes to the configuration file reload it through the settings
// layer (account managers' overrides survive); changes to the model file, and
// POST /admin/api/model/reload, reload the model (a bad file leaves the model in force).
//
// Stop (SIGTERM, SIGINT), in order, all within server.drain_timeout of the signal: not
// ready (/readyz 503) at once; auctions still served for server.drain_delay, so that load
// balancers take the replica out; the auction listener shut down, in-flight auctions
// finished (their bid-log rows queued); the admin API and the store closed; the DSP calls
// and pending notices finished; the bid log's queue written and its file published (or
// its stream flushed); the traces flushed.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", "", "configuration file (YAML); without it the embedded defaults run")
	storeOptional := fs.Bool("store-optional", false, "run on the file configuration if the settings store cannot be opened (changes refused)")
	adminLoopback := fs.Bool("admin-loopback", false, "bind the admin API to loopback only")
	clockSpec := fs.String("clock", "", "simulated time for features and bid-log timestamps: START[,SPEEDx] (2024-03-01,1440x: a day a minute); the wall clock when empty. Deadlines keep the real clock")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var clk *simclock.Clock
	if *clockSpec != "" {
		var err error
		if clk, err = simclock.Parse(*clockSpec, nil); err != nil {
			return fmt.Errorf("%w: --clock: %w", errUsage, err)
		}
	}
	cfg, err := config.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	log, err := telemetry.NewLogger(cfg.Log.Level, cfg.Log.Format, stderr)
	if err != nil {
		return err
	}
	met, err := telemetry.NewMetrics()
	if err != nil {
		return err
	}
	tp, stopTraces, err := telemetry.NewTracerProvider(cfg.Tracing, telemetry.TracerOptions{Stdout: stdout, Version: buildVersion()})
	if err != nil {
		return err
	}
	var stops []func(context.Context) error // run in reverse order when the start fails
	stopAll := func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.DrainTimeout)
		defer cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			_ = stops[i](sctx)
		}
	}
	stops = append(stops, stopTraces, func(c context.Context) error { return met.Provider.Shutdown(c) })

	ar, err := openAdmin(ctx, cfg, adminOptions{Logger: log, StoreOptional: *storeOptional, LoopbackOnly: *adminLoopback})
	if err != nil {
		stopAll()
		return err
	}
	stops = append(stops, ar.Close)
	eff := ar.Effective()

	bl, err := openBidLog(eff, log, met.Provider)
	bidLogAtStart := eff.BidLog // opened once: a reload does not reopen it
	if err != nil {
		stopAll()
		return err
	}
	stops = append(stops, bl.Close)

	opts := gateway.Options{
		Logger:         log,
		MeterProvider:  met.Provider,
		TracerProvider: tp,
		MetricsHandler: met.Handler,
		LoadModel:      serving.LoadModel,
	}
	if clk != nil {
		opts.Now = clk.Now
		log.Info("simulated clock: features and bid-log timestamps follow it", "clock", clk.String())
	}
	if s := loadModelAtStart(eff.Model.Path, log); s != nil {
		opts.Scorer = s
	}
	if bl.sink != nil {
		opts.BidLog = bl.sink
	}
	g, err := gateway.New(eff, opts)
	if err != nil {
		stopAll()
		return err
	}
	stops = append(stops, g.Close)
	err = ar.Start(context.WithoutCancel(ctx), adminDeps{
		Apply:       g.Apply,
		Models:      modelFunc(g.Model),
		ReloadModel: g.ReloadModel,
		Figures:     g,
		Load:        g,
		Now:         opts.Now,
	})
	if err != nil {
		stopAll()
		return err
	}

	ln, err := net.Listen("tcp", eff.Listen)
	if err != nil {
		stopAll()
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      eff.Auction.MaxTMax + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	// The watchers start before the first request is served, so that an edit made as soon
	// as the gateway answers (a deploy script, a test) is not missed.
	var cfgWatcher, modelWatcher *config.Watcher
	var cfgWatchErr, modelWatchErr error
	if *path != "" {
		cfgWatcher, cfgWatchErr = config.NewWatcher(*path)
	}
	modelPath := eff.Model.Path
	if modelPath != "" {
		modelWatcher, modelWatchErr = config.NewWatcher(modelPath)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	source := *path
	if source == "" {
		source = "embedded defaults"
	}
	log.Info("bidsieve serving", "listen", ln.Addr().String(), "config", source, "dsps", len(eff.DSPs),
		"mode", eff.Shaping.Mode, "model", modelVersion(g), "bidlog", bidLogTarget(eff.BidLog))

	// Reloads run on this goroutine, one at a time; a burst of triggers coalesces.
	reloads, modelReloads := make(chan string, 1), make(chan string, 1)
	trigger := func(ch chan string) func(string) {
		return func(reason string) {
			select {
			case ch <- reason:
			default:
			}
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	var watchers []chan struct{}
	watch := func(fn func(context.Context)) {
		done := make(chan struct{})
		watchers = append(watchers, done)
		go func() {
			defer close(done)
			fn(watchCtx)
		}()
	}
	if cfgWatchErr != nil {
		log.Warn("config file not watched; reload with SIGHUP", "err", cfgWatchErr)
	}
	if cfgWatcher != nil {
		watch(func(c context.Context) {
			_ = cfgWatcher.Run(c, 200*time.Millisecond, func() { trigger(reloads)("file changed") })
		})
	}
	if modelPath != "" {
		watch(func(c context.Context) {
			watchModel(c, modelPath, log, func() { trigger(modelReloads)("model file changed") }, modelWatcher, modelWatchErr)
		})
	}

	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			trigger(reloads)("SIGHUP")
		case reason := <-reloads:
			reloaded := reloadConfig(ar, g, log, *path, reason)
			if reloaded && !reflect.DeepEqual(g.Config().BidLog, bidLogAtStart) {
				log.Warn("bidlog settings changed: the bid log keeps the settings it started with until a restart",
					"dir", bidLogAtStart.Dir, "kafka_brokers", bidLogAtStart.Kafka.Brokers, "kafka_topic", bidLogAtStart.Kafka.Topic)
			}
			if reloaded && g.Config().Model.Path != modelPath {
				log.Warn("model.path changed: loading the new file now; changes to it are watched after a restart",
					"old", modelPath, "new", g.Config().Model.Path)
				trigger(modelReloads)("model.path changed")
			}
		case reason := <-modelReloads:
			reloadModel(g, log, reason)
		case serveErr = <-served:
			break loop
		}
	}
	stopWatch()
	for _, done := range watchers {
		<-done
	}

	// The drain: not ready at once, still serving for server.drain_delay (the load
	// balancer notices), then every step below within server.drain_timeout of the signal.
	drain := g.Config().Server
	sctx, cancel := context.WithTimeout(context.Background(), drain.DrainTimeout)
	defer cancel()
	g.Drain()
	if serveErr == nil && drain.DrainDelay > 0 {
		log.Info("bidsieve draining: /readyz fails, auctions are still served", "drain_delay", drain.DrainDelay, "drain_timeout", drain.DrainTimeout)
		t := time.NewTimer(drain.DrainDelay)
		select {
		case <-t.C:
		case serveErr = <-served:
			t.Stop()
		}
	}
	log.Info("bidsieve stopping: finishing in-flight auctions, pending notices and the bid log")
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := ar.Close(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := g.Close(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := bl.Close(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := stopTraces(sctx); err != nil {
		errs = append(errs, fmt.Errorf("traces: %w", err))
	}
	if err := met.Provider.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("metrics: %w", err))
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", serveErr))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("bidsieve stopped")
	return nil
}

// reloadConfig loads the configuration again (file and environment) and puts it in force
// through the settings layer, which writes the store's overrides over it. On any error the
// configuration in force stays. It reports whether the reload took.
func reloadConfig(ar *adminRuntime, g *gateway.Gateway, log *slog.Logger, path, reason string) bool {
	cfg, err := config.Load(path, os.Environ())
	if err == nil {
		err = ar.Reload(cfg)
	}
	if err != nil {
		log.Error("config reload failed; the configuration in force stays", "reason", reason, "err", err)
		return false
	}
	log.Info("config reloaded", "reason", reason, "dsps", len(g.Config().DSPs))
	return true
}

// reloadModel loads the model file again; on any error the model in force stays.
func reloadModel(g *gateway.Gateway, log *slog.Logger, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), modelReloadTimeout)
	defer cancel()
	if err := g.ReloadModel(ctx); err != nil {
		log.Error("model reload failed; the model in force stays", "reason", reason, "model", modelVersion(g), "err", err)
	}
}

// modelVersion names the model in force for the logs.
func modelVersion(g *gateway.Gateway) string {
	if m := g.Model(); m != nil {
		return m.Meta.Version
	}
	return "none (fail open)"
}
