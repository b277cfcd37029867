package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
	"github.com/bidsieve/bidsieve/simclock"
)

// runDSPSim serves the simulated DSPs of a profile file over HTTP until interrupted. A
// change to the file, or SIGHUP, reloads it (dspserver.Server.Reload), so that a DSP's
// behaviour can change mid-run; a file that does not load is reported and the profiles in
// force stay.
func runDSPSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dsp-sim", stderr)
	profiles := fs.String("profiles", "", "simulator profiles (YAML, required)")
	listen := fs.String("listen", "127.0.0.1:9001", "address to listen on")
	seed := fs.Uint64("seed", 1, "seed of the outcomes (simulate with the same --seed draws the same answers)")
	clockSpec := fs.String("clock", "", "simulated time for the profiles' hour_utc terms: START[,SPEEDx] (2024-03-01,1440x: a day a minute); the wall clock when empty")
	if err := parseFlags(fs, args, "profiles"); err != nil {
		return err
	}
	p, err := sim.Load(*profiles)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger := textLogger(stderr, false)
	opts := dspserver.Options{Seed: *seed, Logger: logger}
	if *clockSpec != "" {
		clk, err := simclock.Parse(*clockSpec, nil)
		if err != nil {
			return fmt.Errorf("%w: --clock: %w", errUsage, err)
		}
		opts.Hours = clk.Now
		logger.Info("simulated clock", "clock", clk.String())
	}
	h := dspserver.New(p, opts)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	_, _ = fmt.Fprintf(stdout, "dsp-sim listening on http://%s: POST /bid/{%s}, GET /stats\n", ln.Addr(), strings.Join(p.Names(), ","))

	reload := func(why string) {
		np, err := sim.Load(*profiles)
		if err != nil {
			logger.Error("profiles not reloaded; the ones in force stay", "reason", why, "err", err)
			return
		}
		added, removed := h.Reload(np)
		logger.Info("profiles reloaded", "reason", why, "dsps", len(np.DSPs), "added", added, "removed", removed)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	changed := make(chan struct{}, 1)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	if w, err := config.NewWatcher(*profiles); err != nil {
		logger.Warn("profile file not watched; reload with SIGHUP", "err", err)
		close(watched)
	} else {
		go func() {
			defer close(watched)
			_ = w.Run(watchCtx, 200*time.Millisecond, func() {
				select {
				case changed <- struct{}{}:
				default:
				}
			})
		}()
	}
	defer func() { stopWatch(); <-watched }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
loop:
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-hup:
			reload("SIGHUP")
		case <-changed:
			reload("file changed")
		case <-ctx.Done():
			break loop
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
