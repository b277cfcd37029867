package admin_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/admin"
	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/store"
)

// fakeHistory is two versions; a rollback makes the fake gateway serve the version, as
// the gateway's watcher does after the rename.
type fakeHistory struct {
	gw  *fakeGateway
	mu  sync.Mutex
	got []string
}

func (h *fakeHistory) List() ([]modelhistory.Entry, error) {
	auc := 0.81
	return []modelhistory.Entry{
		{Version: "m2", Status: modelhistory.StatusRefused, Reasons: []string{"alpha: withholds 3.0% of traffic"},
			At: time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC), TrainRows: 1200, HeldOutRows: 400,
			DSPs: []modelhistory.DSPResult{{DSP: "alpha", Verdict: modelhistory.VerdictFail, Reason: "withholds 3.0% of traffic",
				Challenger: modelhistory.Figures{Filtered: true, AUC: &auc, Recall: 0.96, RecallLower: 0.94, RecallUpper: 0.97, Withheld: 0.03}}}},
		{Version: "m1", Status: modelhistory.StatusPromoted, HasModel: true, At: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)},
	}, nil
}

func (h *fakeHistory) Rollback(version string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if version != "m1" {
		return fmt.Errorf("%w %q", modelhistory.ErrUnknownVersion, version)
	}
	h.got = append(h.got, version)
	h.gw.model.Store(testModel(version))
	return nil
}

func newHistoryEnv(t *testing.T) (*env, *fakeHistory) {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "bidsieve.db"), store.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnvWith(t, baseConfig(t), st)
	h := &fakeHistory{gw: e.gw}
	e.gw.model.Store(testModel("m3"))
	srv, err := admin.New(admin.Options{Settings: e.settings, Store: st, Models: e.gw, History: h,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(srv)
	t.Cleanup(e.http.Close)
	return e, h
}

func TestModelHistoryAndRollback(t *testing.T) {
	e, h := newHistoryEnv(t)

	var list struct {
		InForce string               `json:"in_force"`
		Entries []modelhistory.Entry `json:"entries"`
	}
	if st, body := e.do("GET", "/admin/api/model/history", viewerToken, nil, &list); st != 200 {
		t.Fatalf("history as viewer: %d %s", st, body)
	}
	if list.InForce != "m3" || len(list.Entries) != 2 || list.Entries[0].Version != "m2" ||
		list.Entries[0].DSPs[0].Challenger.Withheld != 0.03 || len(list.Entries[0].Reasons) != 1 {
		t.Errorf("history: %+v", list)
	}
	if st, _ := e.do("GET", "/admin/api/model/history", "", nil, nil); st != 401 {
		t.Errorf("history without a token: %d, want 401", st)
	}

	for _, tc := range []struct {
		token string
		want  int
	}{{viewerToken, 403}, {managerToken, 403}} {
		if st, _ := e.do("POST", "/admin/api/model/rollback", tc.token, map[string]string{"version": "m1"}, nil); st != tc.want {
			t.Errorf("rollback as %s: %d, want %d", tc.token, st, tc.want)
		}
	}
	var ae struct{ Error, Field string }
	if st, _ := e.do("POST", "/admin/api/model/rollback", adminToken, map[string]string{"version": "m9"}, &ae); st != 404 ||
		!strings.Contains(ae.Error, "unknown model version m9") {
		t.Errorf("rollback to an unknown version: %d %+v, want 404 naming it", st, ae)
	}
	if st, _ := e.do("POST", "/admin/api/model/rollback", adminToken, map[string]int{"version": 1}, nil); st != 400 {
		t.Errorf("rollback with a bad body: %d, want 400", st)
	}
	if len(h.got) != 0 {
		t.Fatalf("refused rollbacks installed %v", h.got)
	}

	var rb struct {
		Version string `json:"version"`
		Model   struct{ Version string }
		Audit   *store.AuditEntry
	}
	if st, body := e.do("POST", "/admin/api/model/rollback", adminToken, map[string]string{"version": "m1"}, &rb); st != 200 {
		t.Fatalf("rollback as admin: %d %s", st, body)
	}
	if rb.Model.Version != "m1" || len(h.got) != 1 {
		t.Errorf("after rollback: %+v, installs %v", rb, h.got)
	}
	if rb.Audit == nil || rb.Audit.Field != "model_rollback" || string(rb.Audit.Old) != `"m3"` || string(rb.Audit.New) != `"m1"` {
		t.Errorf("audit of the rollback: %+v", rb.Audit)
	}
	var audit struct{ Entries []store.AuditEntry }
	e.do("GET", "/admin/api/audit", viewerToken, nil, &audit)
	if len(audit.Entries) == 0 || audit.Entries[0].Field != "model_rollback" || audit.Entries[0].Who == "" {
		t.Errorf("audit trail: %+v", audit.Entries)
	}
}
