package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/admin"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/internal/logtest"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/bidsieve/bidsieve/store"
	"github.com/bidsieve/bidsieve/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// The tokens of the test configuration, by role.
const (
	viewerToken  = "viewer-secret-token-1"
	managerToken = "manager-secret-token-2"
	adminToken   = "admin-secret-token-3"
)

// baseConfig is the embedded default configuration (six DSPs) with a token per role.
func baseConfig(t testing.TB) *config.Config {
	t.Helper()
	c := config.Default()
	c.Auth.Tokens = []config.Token{
		{Name: "vera", Role: config.RoleViewer, SHA256: admin.HashToken(viewerToken)},
		{Name: "max", Role: config.RoleManager, SHA256: admin.HashToken(managerToken)},
		{Name: "ada", Role: config.RoleAdmin, SHA256: admin.HashToken(adminToken)},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// testCurve is a validation curve shaped like a real one: recall 0.95 at about 15% of
// traffic withheld, lower bound one point below.
func testCurve() []modelfile.CurvePoint {
	var pts []modelfile.CurvePoint
	for i := 0; i <= 120; i++ {
		w := float64(i) / 200 // withheld 0 .. 0.6
		r := 1 - 0.05*(w/0.15)*(w/0.15)
		pts = append(pts, modelfile.CurvePoint{Threshold: w / 5, Recall: r, RecallLower: math.Max(0, r-0.01), FilteredShare: w})
	}
	return pts
}

func testModel(version string) *modelfile.File {
	f := &modelfile.File{Meta: modelfile.Metadata{Version: version, RecallTarget: 0.95, CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	for _, name := range []string{"alpha", "bravo", "charlie", "delta", "echo"} { // foxtrot: no curve
		d := modelfile.DSP{Name: name, Curve: testCurve(), Target: 0.95, OK: true}
		d.Threshold, _ = d.ThresholdFor(0.95)
		p := d.PointAt(d.Threshold)
		d.Recall, d.RecallLower, d.FilteredShare = p.Recall, p.RecallLower, p.FilteredShare
		f.DSPs = append(f.DSPs, d)
	}
	return f
}

// fakeGateway stands in for the gateway: it records the configurations applied, gives
// figures and a model, and reloads a model on demand.
type fakeGateway struct {
	mu      sync.Mutex
	applied []*config.Config
	model   atomic.Pointer[modelfile.File]
	reloads atomic.Int32
	failing atomic.Bool
	figures atomic.Int64 // calls of Figures
	refuse  atomic.Int32 // Apply refuses this many more configurations
}

func (g *fakeGateway) Apply(c *config.Config) error {
	if g.refuse.Add(-1) >= 0 {
		return errors.New("refused for the test")
	}
	g.refuse.Store(0)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.applied = append(g.applied, c)
	return nil
}

func (g *fakeGateway) last() *config.Config {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.applied) == 0 {
		return nil
	}
	return g.applied[len(g.applied)-1]
}

func (g *fakeGateway) Model() *modelfile.File { return g.model.Load() }

func (g *fakeGateway) ReloadModel(context.Context) error {
	if g.failing.Load() {
		return errors.New("model file models/current.bsm: feature spec hash mismatch")
	}
	n := g.reloads.Add(1)
	g.model.Store(testModel("m" + string(rune('1'+n))))
	return nil
}

func (g *fakeGateway) Load() stats.Load {
	return stats.Load{Window: 5 * time.Minute, Auctions: 8000, Shed: map[string]int64{"wait": 300, "inflight": 100}, Inflight: 12}
}

func (g *fakeGateway) Figures() map[string]stats.Figures {
	g.figures.Add(1)
	out := map[string]stats.Figures{}
	for i, name := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"} {
		k := int64(i + 1)
		out[name] = stats.Figures{
			Window:  5 * time.Minute,
			Offered: 120000 * k, Sent: 96800 * k, Filtered: 18000 * k, Explored: 360 * k, Throttled: 3640 * k, Privacy: 1200 * k,
			Bids: 5004 * k, BidsSent: 5000 * k, BidsExplored: 4 * k, ExploredWeight: float64(4*k) / 0.02, ExplorationRate: 0.02,
		}
	}
	return out
}

// env is one admin server on a SQLite store with a fake gateway.
type env struct {
	t        *testing.T
	gw       *fakeGateway
	store    *store.Store
	settings *admin.Settings
	server   *admin.Server
	http     *httptest.Server
	logs     *logtest.Buffer
	now      *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "bidsieve.db"))
}

func newEnvAt(t *testing.T, dbPath string) *env {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), dbPath, store.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvWith(t, baseConfig(t), st)
}

func newEnvWith(t *testing.T, base *config.Config, st *store.Store) *env {
	t.Helper()
	e := &env{t: t, gw: &fakeGateway{}, store: st, logs: &logtest.Buffer{}, now: &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	e.gw.model.Store(testModel("m1"))
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var as admin.Store
	if st != nil {
		as = st
	}
	s, err := admin.NewSettings(t.Context(), base, as, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(e.gw.Apply); err != nil {
		t.Fatal(err)
	}
	e.settings = s
	srv, err := admin.New(admin.Options{
		Settings: s, Store: as, Figures: e.gw, Models: e.gw, Load: e.gw, ReloadModel: e.gw.ReloadModel,
		Logger: log, Now: e.now.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.server = srv
	e.http = httptest.NewServer(srv)
	t.Cleanup(e.http.Close)
	return e
}

// do sends a request with the token ("" for none) and decodes a JSON answer into out (if
// not nil). It returns the status and the raw body.
func (e *env) do(method, path, token string, body any, out any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return res.StatusCode, data
}

// The API's JSON, as a client reads it.
type (
	apiErr struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	settingsJSON struct {
		Enabled         bool     `json:"enabled"`
		Mode            string   `json:"mode"`
		RecallTarget    float64  `json:"recall_target"`
		Threshold       *float64 `json:"threshold"`
		ExplorationRate float64  `json:"exploration_rate"`
		QPSLimit        int      `json:"qps_limit"`
	}
	pointJSON struct {
		Threshold   float64 `json:"threshold"`
		Recall      float64 `json:"recall"`
		RecallLower float64 `json:"recall_lower"`
		Withheld    float64 `json:"withheld"`
		Source      string  `json:"source"`
		Filtering   bool    `json:"filtering"`
		Note        string  `json:"note"`
	}
	intervalJSON struct{ Estimate, Lower, Upper float64 }
	liveJSON     struct {
		WindowSeconds float64       `json:"window_seconds"`
		Offered       int64         `json:"offered"`
		Sent          int64         `json:"sent"`
		Filtered      int64         `json:"filtered"`
		Explored      int64         `json:"explored"`
		Throttled     int64         `json:"throttled"`
		Privacy       int64         `json:"privacy"`
		Bids          int64         `json:"bids"`
		Recall        *intervalJSON `json:"recall"`
		Withheld      float64       `json:"withheld"`
	}
	dspJSON struct {
		Name           string       `json:"name"`
		Settings       settingsJSON `json:"settings"`
		Overridden     []string     `json:"overridden"`
		OperatingPoint *pointJSON   `json:"operating_point"`
		Live           *liveJSON    `json:"live"`
	}
	dspsJSON struct {
		You struct {
			Name string `json:"name"`
			Role string `json:"role"`
		} `json:"you"`
		Store           string    `json:"store"`
		ReadOnly        bool      `json:"read_only"`
		SettingsVersion int64     `json:"settings_version"`
		Model           *struct{} `json:"model"`
		Load            *struct {
			Auctions  int64            `json:"auctions"`
			Shed      map[string]int64 `json:"shed"`
			ShedShare float64          `json:"shed_share"`
			Inflight  int64            `json:"inflight"`
		} `json:"load"`
		DSPs []dspJSON `json:"dsps"`
	}
	auditJSON struct {
		Entries []store.AuditEntry `json:"entries"`
		Next    int64              `json:"next"`
	}
	patchJSON struct {
		DSP     dspJSON            `json:"dsp"`
		Changes []store.AuditEntry `json:"changes"`
	}
	curveJSON struct {
		DSP            string      `json:"dsp"`
		Curve          []pointJSON `json:"curve"`
		OperatingPoint *pointJSON  `json:"operating_point"`
		Preview        *pointJSON  `json:"preview"`
		TrainedTarget  float64     `json:"trained_target"`
		OK             bool        `json:"ok"`
		Note           string      `json:"note"`
	}
)

func (d dspsJSON) dsp(name string) *dspJSON {
	for i := range d.DSPs {
		if d.DSPs[i].Name == name {
			return &d.DSPs[i]
		}
	}
	return nil
}
