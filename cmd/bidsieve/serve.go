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
	"syscall"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/gateway/telemetry"
)

// runServe is `bidsieve serve [--config FILE]`: the gateway on cfg.listen until ctx ends
// (SIGINT, SIGTERM), then a graceful stop: not ready, in-flight auctions finished, pending
// notices fired. SIGHUP and changes to the file reload the configuration; a bad file is
// logged and the configuration in force stays.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", "", "configuration file (YAML); without it the embedded defaults run")
	if err := parseFlags(fs, args); err != nil {
		return err
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
	tp, stopTraces, err := telemetry.NewTracerProvider(cfg.Tracing.Exporter, cfg.Tracing.SampleRatio, stdout)
	if err != nil {
		return err
	}
	g, err := gateway.New(cfg, gateway.Options{
		Logger:         log,
		MeterProvider:  met.Provider,
		TracerProvider: tp,
		MetricsHandler: met.Handler,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = g.Close(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      cfg.Auction.MaxTMax + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	source := *path
	if source == "" {
		source = "embedded defaults"
	}
	log.Info("bidsieve serving", "listen", ln.Addr().String(), "config", source, "dsps", len(cfg.DSPs))
	if cfg.AdminListen != "" {
		log.Info("admin_listen is not served by this version", "admin_listen", cfg.AdminListen)
	}

	// Reloads run on this goroutine, one at a time; a burst of triggers coalesces.
	reloads := make(chan string, 1)
	trigger := func(reason string) {
		select {
		case reloads <- reason:
		default:
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if *path == "" {
			return
		}
		if err := config.Watch(watchCtx, *path, 200*time.Millisecond, func() { trigger("file changed") }); err != nil {
			log.Warn("config file not watched; reload with SIGHUP", "err", err)
		}
	}()

	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			trigger("SIGHUP")
		case reason := <-reloads:
			reload(g, log, *path, reason)
		case serveErr = <-served:
			break loop
		}
	}
	stopWatch()
	<-watched

	log.Info("bidsieve stopping: finishing in-flight auctions and pending notices")
	g.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), g.Config().ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := g.Close(sctx); err != nil {
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

// reload loads the configuration again (file and environment) and applies it; on any
// error the configuration in force stays.
func reload(g *gateway.Gateway, log *slog.Logger, path, reason string) {
	if err := g.Reload(path, os.Environ()); err != nil {
		log.Error("config reload failed; the configuration in force stays", "reason", reason, "err", err)
		return
	}
	log.Info("config reloaded", "reason", reason, "dsps", len(g.Config().DSPs))
}
