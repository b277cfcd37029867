package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/admin"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/store"
)

var _ admin.Store = (*store.Store)(nil)

// adminOptions are the start-up choices of the control plane that are not in the
// configuration file (serve's flags).
type adminOptions struct {
	Logger *slog.Logger
	// StoreOptional runs the gateway on the file configuration when the settings store
	// cannot be opened, instead of refusing to start; changes are then refused. Off by
	// default: a gateway should not run with settings it does not know.
	StoreOptional bool
	// LoopbackOnly binds the admin listener to the loopback interface whatever the host
	// of admin_listen (":8081" becomes "127.0.0.1:8081"); a non-loopback host is an error.
	LoopbackOnly bool
}

// adminDeps are what the control plane needs from the gateway, given to Start.
type adminDeps struct {
	// Apply puts a whole configuration in force atomically (gateway.(*Gateway).Apply).
	Apply func(*config.Config) error
	// Figures, Models and Load feed the page (the gateway); nil shows none.
	Figures admin.Figures
	Models  admin.Models
	Load    admin.Load
	// ReloadModel loads the model file again; nil answers 503.
	ReloadModel func(context.Context) error
	// Now is the gateway's clock (simulated under --clock): it stamps the trend points.
	// nil is time.Now.
	Now func() time.Time
}

// adminRuntime is the control plane of one serve process: the settings store, the
// settings layer that merges its overrides over the file configuration, and the admin
// HTTP server. Build it with openAdmin, build the gateway from Effective, then Start it.
type adminRuntime struct {
	log      *slog.Logger
	opts     adminOptions
	store    *store.Store // nil when running on the file configuration
	settings *admin.Settings

	srv    *http.Server
	addr   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// openAdmin opens the settings store of cfg.Store (created and migrated if needed) and
// merges its overrides over cfg. A store that cannot be opened or read, or that holds a
// value this build does not accept, is an error naming it: serve must refuse to start,
// unless opts.StoreOptional, in which case it runs on cfg alone and says so loudly.
func openAdmin(ctx context.Context, cfg *config.Config, opts adminOptions) (*adminRuntime, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &adminRuntime{log: log, opts: opts}
	st, err := store.Open(ctx, cfg.Store.SQLite, cfg.Store.Postgres, store.Options{Logger: log})
	var s *admin.Settings
	if err == nil {
		s, err = admin.NewSettings(ctx, cfg, st, log)
		if err != nil {
			_ = st.Close() // refusing it anyway
		}
	}
	if err != nil {
		if !opts.StoreOptional {
			return nil, fmt.Errorf("%w (the gateway will not run with unknown settings; fix or move the store, or start with the store optional to run on the file configuration)", err)
		}
		log.Error("SETTINGS STORE UNAVAILABLE: running on the file configuration alone; account managers' changes are NOT in force and are refused until a restart with a working store",
			"err", err)
		st = nil
		if s, err = admin.NewSettings(ctx, cfg, nil, log); err != nil {
			return nil, err
		}
	} else {
		log.Info("settings store open", "store", st.String(), "settings_version", s.Version())
	}
	a.store, a.settings = st, s
	return a, nil
}

// Effective returns the configuration in force: the file's with the store's overrides.
// The gateway is built from it.
func (a *adminRuntime) Effective() *config.Config { return a.settings.Effective() }

// Settings returns the settings layer.
func (a *adminRuntime) Settings() *admin.Settings { return a.settings }

// Start connects the settings layer to the gateway (deps.Apply is called at once with the
// configuration in force), follows the store's changes, and serves the admin API and page
// on admin_listen (nothing when it is empty). It returns once the listener is bound.
func (a *adminRuntime) Start(ctx context.Context, deps adminDeps) error {
	if err := a.settings.Start(deps.Apply); err != nil {
		return err
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.wg.Go(func() {
		if err := a.settings.Run(ctx); err != nil {
			a.log.Error("settings: following the store stopped", "err", err)
		}
	})

	cfg := a.settings.Effective()
	if cfg.AdminListen == "" {
		a.log.Info("admin API and page disabled (admin_listen is empty)")
		return nil
	}
	addr, err := adminAddr(cfg.AdminListen, a.opts.LoopbackOnly)
	if err != nil {
		a.cancel()
		a.wg.Wait()
		return err
	}
	trend, err := a.openTrend(cfg)
	if err != nil {
		a.cancel()
		a.wg.Wait()
		return err
	}
	srv, err := admin.New(admin.Options{
		Settings: a.settings, Store: a.adminStore(), Figures: deps.Figures, Models: deps.Models, Load: deps.Load,
		ReloadModel: deps.ReloadModel, Logger: a.log, History: modelHistoryOf(cfg.Model.Path), Trend: trend,
	})
	if err != nil {
		a.cancel()
		a.wg.Wait()
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.cancel()
		a.wg.Wait()
		return fmt.Errorf("admin listener: %w", err)
	}
	a.addr = ln.Addr().String()
	if trend != nil {
		now := deps.Now
		if now == nil {
			now = time.Now
		}
		a.wg.Go(func() { admin.RecordTrend(ctx, trend, cfg.AdminTrendEvery, now, deps.Figures, deps.Models) })
	}
	a.srv = &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      2*time.Minute + 10*time.Second, // a model reload may take a while
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	a.wg.Go(func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server stopped", "err", err)
		}
	})
	if len(cfg.Auth.Tokens) == 0 {
		a.log.Warn("auth.tokens is empty: the admin API refuses every call")
	}
	host, _, _ := net.SplitHostPort(a.addr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		a.log.Warn("the admin API listens beyond loopback; put it behind TLS or bind it to loopback (admin loopback option)", "addr", a.addr)
	}
	a.log.Info("admin API and page listening", "url", "http://"+a.addr+"/admin/")
	return nil
}

// openTrend opens the trend of the page's chart: trend.jsonl beside model.path (in memory
// without a model path); nil when admin_trend_every is 0. Its period is read at start.
func (a *adminRuntime) openTrend(cfg *config.Config) (*admin.Trend, error) {
	if cfg.AdminTrendEvery <= 0 {
		return nil, nil
	}
	path := ""
	if cfg.Model.Path != "" {
		path = filepath.Join(filepath.Dir(cfg.Model.Path), admin.TrendFile)
	}
	return admin.OpenTrend(path, a.log)
}

// adminStore returns the store as the admin server's audit store (nil interface when
// there is none, not a nil pointer in an interface).
func (a *adminRuntime) adminStore() admin.Store {
	if a.store == nil {
		return nil
	}
	return a.store
}

// Addr is the admin listener's address once started ("" when disabled).
func (a *adminRuntime) Addr() string { return a.addr }

// Reload puts a new file configuration in force with the store's overrides written over
// it. serve calls it instead of the gateway's Apply when the file changes, so that a file
// reload never drops an account manager's setting. On error the configuration in force
// stays.
func (a *adminRuntime) Reload(cfg *config.Config) error { return a.settings.SetBase(cfg) }

// Close stops the admin server (waiting for calls in flight until ctx ends), stops
// following the store and closes it.
func (a *adminRuntime) Close(ctx context.Context) error {
	var errs []error
	if a.srv != nil {
		if err := a.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("admin server shutdown: %w", err))
			_ = a.srv.Close()
		}
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close settings store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// adminAddr applies the loopback-only option to admin_listen.
func adminAddr(listen string, loopbackOnly bool) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("admin_listen %q: %w", listen, err)
	}
	if !loopbackOnly {
		return listen, nil
	}
	switch host {
	case "", "0.0.0.0", "::":
		return net.JoinHostPort("127.0.0.1", port), nil
	case "localhost":
		return listen, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return listen, nil
	}
	return "", fmt.Errorf("admin_listen %q is not a loopback address, and the admin API is to be bound to loopback only", listen)
}

// modelFunc adapts a function returning the model in force to admin.Models.
type modelFunc func() *modelfile.File

// Model implements admin.Models.
func (f modelFunc) Model() *modelfile.File { return f() }

var (
	_ admin.Figures = (*gateway.Gateway)(nil)
	_ admin.Models  = modelFunc(nil)
)

// modelHistoryOf is the admin server's model history: the folder beside model.path that
// `bidsieve retrain` writes; nil without a model path.
func modelHistoryOf(modelPath string) admin.History {
	if modelPath == "" {
		return nil
	}
	return admin.Folder{Dir: modelhistory.Dir(modelPath), ModelPath: modelPath}
}
