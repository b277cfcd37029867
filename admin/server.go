package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"
)

// Options are the dependencies and limits of a Server. Settings is required; the rest
// may be nil (no live figures, no curves, no model reload, no audit trail).
type Options struct {
	Settings *Settings
	// Store keeps the audit trail; normally the one Settings reads. nil: no trail (the
	// gateway runs on the file configuration).
	Store Store
	// Figures, Models and Load come from the gateway.
	Figures Figures
	Models  Models
	Load    Load
	// History is the model history (GET /admin/api/model/history, POST
	// /admin/api/model/rollback); nil: neither is available.
	History History
	// Trend is the live figures' recent history (GET /admin/api/trend, the page's trend
	// chart); nil: none is recorded.
	Trend *Trend
	// ReloadModel loads the model file again (POST /admin/api/model/reload).
	ReloadModel func(ctx context.Context) error
	// Logger receives one line per API request (never a token) and the errors; nil
	// discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body; 0 is 16 KiB.
	MaxBodyBytes int64
	// SignInBurst failed sign-ins are allowed per client address, then one more per
	// SignInEvery; 0 is 10 and 6s (10 a minute).
	SignInBurst int
	SignInEvery time.Duration
	// Now is the clock of the sign-in limiter; nil is time.Now.
	Now func() time.Time
}

// Server serves the admin API under /admin/api/ and the web page under /admin/. It is an
// http.Handler, safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	tokens  tokenCache
	limiter *failureLimiter
}

var _ http.Handler = (*Server)(nil)

// New returns the admin server.
func New(opts Options) (*Server, error) {
	if opts.Settings == nil {
		return nil, errors.New("admin: Options.Settings is required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 16 << 10
	}
	if opts.SignInBurst <= 0 {
		opts.SignInBurst = 10
	}
	if opts.SignInEvery <= 0 {
		opts.SignInEvery = 6 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.limiter = newFailureLimiter(opts.SignInBurst, opts.SignInEvery, opts.Now)

	s.api("GET /admin/api/dsps", roleViewer, s.listDSPs)
	s.api("GET /admin/api/dsps/{name}/curve", roleViewer, s.curve)
	s.api("PATCH /admin/api/dsps/{name}", roleManager, s.patchDSP)
	s.api("GET /admin/api/audit", roleViewer, s.audit)
	s.api("POST /admin/api/model/reload", roleAdmin, s.reloadModel)
	s.api("GET /admin/api/model/history", roleViewer, s.modelHistory)
	s.api("POST /admin/api/model/rollback", roleAdmin, s.rollbackModel)
	s.api("GET /admin/api/trend", roleViewer, s.trend)
	// Profiles of the running process (net/http/pprof), for the admin role only: a CPU
	// profile under load is how CPU per auction is found (docs/BENCHMARKS.md).
	s.api("GET /debug/pprof/", roleAdmin, profile(pprof.Index))
	s.api("GET /debug/pprof/cmdline", roleAdmin, profile(pprof.Cmdline))
	s.api("GET /debug/pprof/profile", roleAdmin, profile(pprof.Profile))
	s.api("GET /debug/pprof/symbol", roleAdmin, profile(pprof.Symbol))
	s.api("POST /debug/pprof/symbol", roleAdmin, profile(pprof.Symbol))
	s.api("GET /debug/pprof/trace", roleAdmin, profile(pprof.Trace))
	s.api("/admin/api/", roleViewer, func(w http.ResponseWriter, r *http.Request, _ principal) {
		writeError(w, http.StatusNotFound, "", "no such call: see docs/ADMIN.md")
	})
	s.mux.Handle("/admin/", uiHandler())
	s.mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
	})
	return s, nil
}

// profile adapts a net/http/pprof handler to an API handler.
func profile(h http.HandlerFunc) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ principal) { h(w, r) }
}

const (
	roleViewer  = "viewer"
	roleManager = "manager"
	roleAdmin   = "admin"
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

type apiHandler func(w http.ResponseWriter, r *http.Request, who principal)

// api registers an API call behind the sign-in check: 429 while the client has failed
// too often, 401 without a valid token, 403 for a role below role.
func (s *Server) api(pattern, role string, h apiHandler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		w = rec
		h2 := w.Header()
		h2.Set("Cache-Control", "no-store")
		h2.Set("X-Content-Type-Options", "nosniff")
		who := principal{}
		defer func() {
			// Reads at debug: the page polls every few seconds. Changes and refusals at info.
			level := slog.LevelInfo
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && rec.status < 400 {
				level = slog.LevelDebug
			}
			s.log.Log(r.Context(), level, "admin api", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"who", who.Name, "client", clientOf(r).String(), "ms", time.Since(start).Milliseconds())
		}()

		client := clientOf(r)
		if wait, blocked := s.limiter.blocked(client); blocked {
			h2.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "", "too many failed sign-ins from this address; retry later")
			return
		}
		tok, ok := bearer(r)
		if !ok {
			h2.Set("WWW-Authenticate", `Bearer realm="bidsieve admin"`)
			writeError(w, http.StatusUnauthorized, "", "sign in: send Authorization: Bearer TOKEN")
			return
		}
		who, ok = s.tokens.get(s.opts.Settings.Effective()).lookup(tok)
		if !ok {
			s.limiter.fail(client)
			s.log.Warn("admin api: failed sign-in", "client", client.String(), "path", r.URL.Path)
			h2.Set("WWW-Authenticate", `Bearer realm="bidsieve admin", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "", "invalid token")
			return
		}
		if !who.may(role) {
			writeError(w, http.StatusForbidden, "", fmt.Sprintf("the %s role may not do this; it needs %s", who.Role, role))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		}
		h(w, r, who)
	})
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"` // the request field at fault, for a 400
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v) // the client may be gone; nothing to do about it
}
