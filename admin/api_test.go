package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/admin"
	"github.com/bidsieve/bidsieve/store"
)

// TestEveryCallAndRole checks each call with no token, a wrong token and each role.
func TestEveryCallAndRole(t *testing.T) {
	e := newEnv(t)
	calls := []struct {
		method, path string
		body         any
		minRole      string
		okStatus     int
	}{
		{"GET", "/admin/api/dsps", nil, "viewer", 200},
		{"GET", "/admin/api/dsps/alpha/curve", nil, "viewer", 200},
		{"PATCH", "/admin/api/dsps/alpha", map[string]any{"qps_limit": 1234}, "manager", 200},
		{"GET", "/admin/api/audit", nil, "viewer", 200},
		{"POST", "/admin/api/model/reload", nil, "admin", 200},
	}
	rank := map[string]int{"viewer": 1, "manager": 2, "admin": 3}
	tokens := []struct{ role, token string }{
		{"viewer", viewerToken}, {"manager", managerToken}, {"admin", adminToken},
	}
	for _, c := range calls {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			// No token, a malformed header and a wrong token: 401.
			if st, _ := e.do(c.method, c.path, "", c.body, nil); st != http.StatusUnauthorized {
				t.Errorf("no token: %d, want 401", st)
			}
			if st, _ := e.do(c.method, c.path, "not-a-token", c.body, nil); st != http.StatusUnauthorized {
				t.Errorf("wrong token: %d, want 401", st)
			}
			e.now.Add(time.Minute) // the two failures above must not add up to a block across calls
			for _, tk := range tokens {
				want := c.okStatus
				if rank[tk.role] < rank[c.minRole] {
					want = http.StatusForbidden
				}
				var ae apiErr
				st, body := e.do(c.method, c.path, tk.token, c.body, &ae)
				if st != want {
					t.Errorf("%s: %d %s, want %d", tk.role, st, body, want)
				}
				if st == http.StatusForbidden && !strings.Contains(ae.Error, c.minRole) {
					t.Errorf("%s: the 403 does not say which role is needed: %q", tk.role, ae.Error)
				}
			}
		})
	}
	// Unknown calls: 404 for a signed-in client, 401 otherwise.
	if st, _ := e.do("GET", "/admin/api/nope", viewerToken, nil, nil); st != http.StatusNotFound {
		t.Errorf("unknown call: %d, want 404", st)
	}
	if st, _ := e.do("GET", "/admin/api/nope", "", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("unknown call without a token: %d, want 401", st)
	}
}

// TestProfilesNeedTheAdminRole: /debug/pprof serves the process's profiles to the admin
// role only; a viewer or manager gets 403, no token 401.
func TestProfilesNeedTheAdminRole(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		for _, c := range []struct {
			token string
			want  int
		}{{"", 401}, {viewerToken, 403}, {managerToken, 403}, {adminToken, 200}} {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", e.http.URL+path, nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := e.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s with token %q: %d, want %d", path, c.token, resp.StatusCode, c.want)
			}
			if c.want == 200 && path == "/debug/pprof/heap?debug=1" && !strings.Contains(string(body), "heap profile") {
				t.Errorf("%s: not a heap profile: %.200s", path, body)
			}
		}
	}
}

func TestListDSPsShowsSettingsPointAndFigures(t *testing.T) {
	e := newEnv(t)
	var got dspsJSON
	if st, body := e.do("GET", "/admin/api/dsps", viewerToken, nil, &got); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if got.You.Name != "vera" || got.You.Role != "viewer" || !strings.HasPrefix(got.Store, "sqlite ") || got.ReadOnly || got.Model == nil {
		t.Fatalf("header fields: %+v", got)
	}
	if l := got.Load; l == nil || l.Auctions != 8000 || l.Shed["wait"] != 300 || l.ShedShare != 0.05 || l.Inflight != 12 {
		t.Errorf("load: %+v; want 8000 auctions, 300 shed on the wait, shed share 0.05, 12 in flight", l)
	}
	if len(got.DSPs) != 6 {
		t.Fatalf("%d DSPs, want 6", len(got.DSPs))
	}
	a := got.dsp("alpha")
	if a.Settings.RecallTarget != 0.95 || a.Settings.Mode != "filter" || !a.Settings.Enabled || a.Settings.QPSLimit != 3000 || a.Settings.Threshold != nil {
		t.Fatalf("alpha settings %+v", a.Settings)
	}
	op := a.OperatingPoint
	if op == nil || op.Source != "recall_target" || !op.Filtering || op.RecallLower < 0.95 || op.Withheld < 0.1 || op.Withheld > 0.15 {
		t.Fatalf("alpha operating point %+v", op)
	}
	lv := a.Live
	if lv == nil || lv.Offered != 120000 || lv.Sent != 96800 || lv.Filtered != 18000 || lv.Explored != 360 || lv.Throttled != 3640 || lv.Privacy != 1200 || lv.Bids != 5004 {
		t.Fatalf("alpha live figures %+v", lv)
	}
	// B_sent / (B_sent + B_explored / rate) = 5000 / (5000 + 4/0.02) = 0.9615...
	if lv.Recall == nil || math.Abs(lv.Recall.Estimate-5000.0/5200) > 1e-9 || !(lv.Recall.Lower < lv.Recall.Estimate && lv.Recall.Estimate < lv.Recall.Upper) {
		t.Fatalf("alpha live recall %+v", lv.Recall)
	}
	if math.Abs(lv.Withheld-0.15) > 1e-9 || lv.WindowSeconds != 300 {
		t.Fatalf("alpha withheld %v window %v", lv.Withheld, lv.WindowSeconds)
	}
	if f := got.dsp("foxtrot"); f.OperatingPoint != nil {
		t.Fatalf("foxtrot has no curve in the model but an operating point %+v", f.OperatingPoint)
	}
}

// TestPatchEachField changes every field through the API and checks the answer, the
// configuration handed to the gateway and the audit entry.
func TestPatchEachField(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		field    string
		value    any
		old, new string // JSON of the audit entry
		check    func(s settingsJSON) bool
	}{
		{"recall_target", 0.97, "0.95", "0.97", func(s settingsJSON) bool { return s.RecallTarget == 0.97 }},
		{"threshold", 0.05, "null", "0.05", func(s settingsJSON) bool { return s.Threshold != nil && *s.Threshold == 0.05 }},
		{"threshold", nil, "0.05", "null", func(s settingsJSON) bool { return s.Threshold == nil }},
		{"exploration_rate", 0.1, "0.02", "0.1", func(s settingsJSON) bool { return s.ExplorationRate == 0.1 }},
		{"enabled", false, "true", "false", func(s settingsJSON) bool { return !s.Enabled }},
		{"qps_limit", 0, "3000", "0", func(s settingsJSON) bool { return s.QPSLimit == 0 }},
		{"mode", "shadow", `"filter"`, `"shadow"`, func(s settingsJSON) bool { return s.Mode == "shadow" }},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s=%v", c.field, c.value), func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			var got patchJSON
			st, body := e.do("PATCH", "/admin/api/dsps/alpha", managerToken, map[string]any{c.field: c.value}, &got)
			if st != 200 {
				t.Fatalf("%d %s", st, body)
			}
			if !c.check(got.DSP.Settings) {
				t.Fatalf("answer's settings %+v", got.DSP.Settings)
			}
			if len(got.Changes) != 1 {
				t.Fatalf("changes %+v, want one", got.Changes)
			}
			ch := got.Changes[0]
			if ch.Who != "max" || ch.DSP != "alpha" || ch.Field != c.field || string(ch.Old) != c.old || string(ch.New) != c.new || ch.At.Before(before) {
				t.Fatalf("audit entry %+v (old %s new %s), want max alpha %s %s -> %s", ch, ch.Old, ch.New, c.field, c.old, c.new)
			}
			// The same entry is in the audit trail.
			var trail auditJSON
			e.do("GET", "/admin/api/audit?limit=1", viewerToken, nil, &trail)
			if len(trail.Entries) != 1 || trail.Entries[0].ID != ch.ID || string(trail.Entries[0].New) != c.new {
				t.Fatalf("audit trail head %+v, want entry %d", trail.Entries, ch.ID)
			}
			// In force: the gateway got a configuration with it, before the call answered.
			cfg := e.gw.last()
			d := cfg.DSP("alpha")
			sh := d.ShapingFor(cfg.Shaping)
			view := settingsJSON{Enabled: d.Enabled, Mode: sh.Mode, RecallTarget: sh.RecallTarget, Threshold: sh.Threshold, ExplorationRate: sh.ExplorationRate, QPSLimit: d.QPSLimit}
			if !c.check(view) {
				t.Fatalf("the gateway's configuration has %+v", view)
			}
			if cfg != e.settings.Effective() {
				t.Fatal("the gateway's configuration is not the one in force")
			}
		})
	}
	// Other DSPs untouched.
	if d := e.gw.last().DSP("bravo"); d.RecallTarget != nil || d.Mode != nil || !d.Enabled || d.QPSLimit != 6000 {
		t.Fatalf("bravo changed: %+v", d)
	}
}

func TestPatchBadValues(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		body  string
		field string
	}{
		{`{"recall_target": 0.4}`, "recall_target"},
		{`{"recall_target": 1.01}`, "recall_target"},
		{`{"recall_target": "0.97"}`, "recall_target"},
		{`{"recall_target": null}`, "recall_target"},
		{`{"threshold": -0.1}`, "threshold"},
		{`{"threshold": 1.5}`, "threshold"},
		{`{"threshold": true}`, "threshold"},
		{`{"exploration_rate": 0.6}`, "exploration_rate"},
		{`{"exploration_rate": -0.01}`, "exploration_rate"},
		{`{"enabled": "yes"}`, "enabled"},
		{`{"enabled": null}`, "enabled"},
		{`{"qps_limit": -1}`, "qps_limit"},
		{`{"qps_limit": 10.5}`, "qps_limit"},
		{`{"qps_limit": 1e12}`, "qps_limit"},
		{`{"mode": "turbo"}`, "mode"},
		{`{"mode": 1}`, "mode"},
		{`{"colour": "blue"}`, "colour"},
		{`{"recall_target": 0.97, "mode": "turbo"}`, "mode"}, // nothing of a bad change is kept
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			var ae apiErr
			st, body := e.do("PATCH", "/admin/api/dsps/alpha", managerToken, c.body, &ae)
			if st != http.StatusBadRequest || ae.Field != c.field || !strings.Contains(ae.Error, c.field) {
				t.Fatalf("%d %s, want 400 naming %s", st, body, c.field)
			}
		})
	}
	for _, body := range []string{`{}`, `[]`, `not json`, `{"mode": "off"} trailing`, `null`} {
		if st, b := e.do("PATCH", "/admin/api/dsps/alpha", managerToken, body, nil); st != http.StatusBadRequest {
			t.Errorf("body %s: %d %s, want 400", body, st, b)
		}
	}
	var trail auditJSON
	e.do("GET", "/admin/api/audit", viewerToken, nil, &trail)
	if len(trail.Entries) != 0 {
		t.Fatalf("bad changes wrote audit entries: %+v", trail.Entries)
	}
	if d := e.settings.Effective().DSP("alpha"); d.RecallTarget != nil || d.Mode != nil {
		t.Fatalf("a bad change is in force: %+v", d)
	}
	// Unknown DSP: 404 (also for the curve).
	if st, _ := e.do("PATCH", "/admin/api/dsps/zulu", managerToken, `{"mode": "off"}`, nil); st != http.StatusNotFound {
		t.Errorf("unknown DSP: %d, want 404", st)
	}
	if st, _ := e.do("GET", "/admin/api/dsps/zulu/curve", viewerToken, nil, nil); st != http.StatusNotFound {
		t.Errorf("unknown DSP's curve: %d, want 404", st)
	}
	// A body over the limit: 413.
	big := `{"mode": "` + strings.Repeat("x", 20<<10) + `"}`
	if st, _ := e.do("PATCH", "/admin/api/dsps/alpha", managerToken, big, nil); st != http.StatusRequestEntityTooLarge {
		t.Errorf("large body: %d, want 413", st)
	}
}

func TestRecallTargetClearsAThreshold(t *testing.T) {
	e := newEnv(t)
	var got patchJSON
	e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"threshold": 0.08}`, &got)
	if got.DSP.OperatingPoint.Source != "threshold" || got.DSP.OperatingPoint.Threshold != 0.08 {
		t.Fatalf("operating point %+v", got.DSP.OperatingPoint)
	}
	st, body := e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"recall_target": 0.97}`, &got)
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if got.DSP.Settings.Threshold != nil || got.DSP.OperatingPoint.Source != "recall_target" || got.DSP.OperatingPoint.RecallLower < 0.97 {
		t.Fatalf("after setting the recall target: %+v %+v", got.DSP.Settings, got.DSP.OperatingPoint)
	}
	if len(got.Changes) != 2 || got.Changes[0].Field != "recall_target" || got.Changes[1].Field != "threshold" || string(got.Changes[1].New) != "null" {
		t.Fatalf("changes %+v: want recall_target and the threshold cleared", got.Changes)
	}
	// The same value again changes nothing and writes nothing.
	e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"recall_target": 0.970}`, &got)
	if len(got.Changes) != 0 {
		t.Fatalf("a no-op change wrote %+v", got.Changes)
	}
}

func TestCurveAndPreview(t *testing.T) {
	e := newEnv(t)
	var c curveJSON
	if st, body := e.do("GET", "/admin/api/dsps/alpha/curve", viewerToken, nil, &c); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if len(c.Curve) != 121 || c.TrainedTarget != 0.95 || !c.OK || c.OperatingPoint == nil || c.Preview != nil {
		t.Fatalf("curve: %d points, %+v", len(c.Curve), c)
	}
	now := *c.OperatingPoint
	e.do("GET", "/admin/api/dsps/alpha/curve?recall_target=0.98", viewerToken, nil, &c)
	if c.Preview == nil || c.Preview.RecallLower < 0.98 || c.Preview.Withheld >= now.Withheld || c.Preview.Source != "recall_target" {
		t.Fatalf("preview at 0.98: %+v (now %+v)", c.Preview, now)
	}
	pv := *c.Preview
	e.do("GET", "/admin/api/dsps/alpha/curve?threshold=0.06", viewerToken, nil, &c)
	if c.Preview == nil || c.Preview.Threshold != 0.06 || math.Abs(c.Preview.Withheld-0.3) > 1e-9 {
		t.Fatalf("preview at threshold 0.06: %+v", c.Preview)
	}
	// Saving the previewed target puts the DSP on the previewed point.
	var got patchJSON
	e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"recall_target": 0.98}`, &got)
	if op := got.DSP.OperatingPoint; op.Threshold != pv.Threshold || op.Recall != pv.Recall || op.Withheld != pv.Withheld {
		t.Fatalf("after saving: %+v, previewed %+v", op, pv)
	}
	for _, q := range []string{"recall_target=0.3", "recall_target=abc", "threshold=2", "recall_target=0.9&threshold=0.1"} {
		var ae apiErr
		if st, body := e.do("GET", "/admin/api/dsps/alpha/curve?"+q, viewerToken, nil, &ae); st != 400 || ae.Field == "" {
			t.Errorf("preview %s: %d %s, want 400 naming the field", q, st, body)
		}
	}
	// A DSP without a curve, and no model at all.
	e.do("GET", "/admin/api/dsps/foxtrot/curve", viewerToken, nil, &c)
	if len(c.Curve) != 0 || c.OperatingPoint != nil || c.Note == "" {
		t.Fatalf("foxtrot: %+v", c)
	}
	e.gw.model.Store(nil)
	e.do("GET", "/admin/api/dsps/alpha/curve", viewerToken, nil, &c)
	if len(c.Curve) != 0 || c.Note == "" {
		t.Fatalf("no model: %+v", c)
	}
}

func TestModeAndPauseShowInTheOperatingPoint(t *testing.T) {
	e := newEnv(t)
	var got patchJSON
	e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"mode": "shadow"}`, &got)
	if got.DSP.OperatingPoint.Filtering || !strings.Contains(got.DSP.OperatingPoint.Note, "shadow") {
		t.Fatalf("shadow: %+v", got.DSP.OperatingPoint)
	}
	e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"mode": "filter", "enabled": false}`, &got)
	if got.DSP.OperatingPoint.Filtering || !strings.Contains(got.DSP.OperatingPoint.Note, "paused") || got.DSP.Settings.Enabled {
		t.Fatalf("paused: %+v", got.DSP)
	}
	if len(got.Changes) != 2 {
		t.Fatalf("two fields, %d audit entries", len(got.Changes))
	}
}

func TestAuditPagesThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.do("PATCH", "/admin/api/dsps/alpha", managerToken, fmt.Sprintf(`{"qps_limit": %d}`, 100+i), nil)
	}
	e.do("PATCH", "/admin/api/dsps/bravo", adminToken, `{"mode": "off"}`, nil)
	var p auditJSON
	e.do("GET", "/admin/api/audit?limit=4", viewerToken, nil, &p)
	if len(p.Entries) != 4 || p.Next == 0 || p.Entries[0].DSP != "bravo" || p.Entries[0].Who != "ada" {
		t.Fatalf("first page %+v", p)
	}
	e.do("GET", "/admin/api/audit?limit=4&before="+strconv.FormatInt(p.Next, 10), viewerToken, nil, &p)
	if len(p.Entries) != 2 || p.Next != 0 || string(p.Entries[1].Old) != "3000" || string(p.Entries[1].New) != "100" {
		t.Fatalf("second page %+v", p)
	}
	e.do("GET", "/admin/api/audit?dsp=bravo", viewerToken, nil, &p)
	if len(p.Entries) != 1 {
		t.Fatalf("bravo's trail %+v", p)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "before=-1", "before=x"} {
		if st, _ := e.do("GET", "/admin/api/audit?"+q, viewerToken, nil, nil); st != 400 {
			t.Errorf("audit?%s: %d, want 400", q, st)
		}
	}
}

func TestModelReload(t *testing.T) {
	e := newEnv(t)
	var got struct {
		Model struct{ Version string } `json:"model"`
		Audit *store.AuditEntry        `json:"audit"`
	}
	if st, body := e.do("POST", "/admin/api/model/reload", adminToken, nil, &got); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if got.Model.Version != "m2" || got.Audit == nil || got.Audit.Who != "ada" || got.Audit.Field != "model" || string(got.Audit.Old) != `"m1"` || string(got.Audit.New) != `"m2"` {
		t.Fatalf("reload answer %+v audit %+v", got, got.Audit)
	}
	e.gw.failing.Store(true)
	var ae apiErr
	if st, _ := e.do("POST", "/admin/api/model/reload", adminToken, nil, &ae); st != 500 || !strings.Contains(ae.Error, "feature spec hash mismatch") {
		t.Fatalf("failed reload: %d %+v", st, ae)
	}
}

func TestFailedSignInsAreRateLimited(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		if st, _ := e.do("GET", "/admin/api/dsps", fmt.Sprintf("guess-%d", i), nil, nil); st != 401 {
			t.Fatalf("guess %d: %d, want 401", i, st)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.http.URL+"/admin/api/dsps", nil)
	req.Header.Set("Authorization", "Bearer guess-10")
	res, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th guess: %d, want 429", res.StatusCode)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 6 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	// Blocked even with a valid token, until the bucket refills.
	if st, _ := e.do("GET", "/admin/api/dsps", viewerToken, nil, nil); st != http.StatusTooManyRequests {
		t.Fatalf("valid token while blocked: %d, want 429", st)
	}
	e.now.Add(6 * time.Second)
	if st, _ := e.do("GET", "/admin/api/dsps", viewerToken, nil, nil); st != 200 {
		t.Fatalf("after the wait: %d, want 200", st)
	}
	// One more failure empties the bucket again.
	e.do("GET", "/admin/api/dsps", "guess-11", nil, nil)
	if st, _ := e.do("GET", "/admin/api/dsps", viewerToken, nil, nil); st != http.StatusTooManyRequests {
		t.Fatalf("after another failure: %d, want 429", st)
	}
}

func TestTokensAreNeverLogged(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/admin/api/dsps", viewerToken, nil, nil)
	e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"mode": "off"}`, nil)
	e.do("POST", "/admin/api/model/reload", adminToken, nil, nil)
	e.do("GET", "/admin/api/dsps", "wrong-secret-guess", nil, nil)
	logs := e.logs.String()
	for _, tok := range []string{viewerToken, managerToken, adminToken, "wrong-secret-guess", admin.HashToken(viewerToken)} {
		if strings.Contains(logs, tok) {
			t.Fatalf("the log holds a token (%s):\n%s", tok, logs)
		}
	}
	if !strings.Contains(logs, "who=max") {
		t.Fatalf("the request log does not name the token's holder:\n%s", logs)
	}
}

func TestRestartKeepsEverySetting(t *testing.T) {
	path := t.TempDir() + "/bidsieve.db"
	e := newEnvAt(t, path)
	changes := map[string]string{
		"alpha":   `{"recall_target": 0.97, "exploration_rate": 0.05, "qps_limit": 1500}`,
		"bravo":   `{"threshold": 0.07, "mode": "shadow"}`,
		"charlie": `{"enabled": false, "mode": "off"}`,
	}
	for dsp, body := range changes {
		if st, b := e.do("PATCH", "/admin/api/dsps/"+dsp, managerToken, body, nil); st != 200 {
			t.Fatalf("%s: %d %s", dsp, st, b)
		}
	}
	var before dspsJSON
	e.do("GET", "/admin/api/dsps", viewerToken, nil, &before)
	e.http.Close()
	e.store.Close()

	// A new process: same file configuration, same store file.
	e2 := newEnvAt(t, path)
	var after dspsJSON
	e2.do("GET", "/admin/api/dsps", viewerToken, nil, &after)
	for _, d := range before.DSPs {
		a := after.dsp(d.Name)
		if js(a.Settings) != js(d.Settings) || fmt.Sprint(a.Overridden) != fmt.Sprint(d.Overridden) {
			t.Errorf("%s: before %s %v, after restart %s %v", d.Name, js(d.Settings), d.Overridden, js(a.Settings), a.Overridden)
		}
	}
	if c := e2.gw.last().DSP("charlie"); c.Enabled || *c.Mode != "off" {
		t.Fatalf("after restart the gateway got charlie %+v", c)
	}
	var trail auditJSON
	e2.do("GET", "/admin/api/audit", viewerToken, nil, &trail)
	if len(trail.Entries) != 7 {
		t.Fatalf("%d audit entries after restart, want 7", len(trail.Entries))
	}
}

func TestReadOnlyWithoutAStore(t *testing.T) {
	e := newEnvWith(t, baseConfig(t), nil)
	var got dspsJSON
	e.do("GET", "/admin/api/dsps", viewerToken, nil, &got)
	if !got.ReadOnly || got.Store != "" || len(got.DSPs) != 6 {
		t.Fatalf("read-only listing %+v", got)
	}
	var ae apiErr
	if st, _ := e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"mode": "off"}`, &ae); st != http.StatusServiceUnavailable || !strings.Contains(ae.Error, "file configuration") {
		t.Fatalf("change without a store: %d %+v", st, ae)
	}
	if st, _ := e.do("GET", "/admin/api/audit", viewerToken, nil, nil); st != 200 {
		t.Fatalf("audit without a store: %d", st)
	}
}

func TestFileReloadKeepsOverrides(t *testing.T) {
	e := newEnv(t)
	e.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"recall_target": 0.97}`, nil)
	next := baseConfig(t)
	next.DSPs[0].QPSLimit = 4242 // alpha's cap changed in the file
	next.DSPs[1].Timeout = 90 * time.Millisecond
	if err := e.settings.SetBase(next); err != nil {
		t.Fatal(err)
	}
	a := e.gw.last().DSP("alpha")
	if a.QPSLimit != 4242 || a.RecallTarget == nil || *a.RecallTarget != 0.97 {
		t.Fatalf("after the file reload alpha is %+v", a)
	}
	// A file whose token list changed takes effect for sign-in.
	next2 := baseConfig(t)
	next2.Auth.Tokens = next2.Auth.Tokens[:1]
	if err := e.settings.SetBase(next2); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.do("GET", "/admin/api/dsps", adminToken, nil, nil); st != 401 {
		t.Fatalf("a token removed from the file still works: %d", st)
	}
}

func TestDamagedOverrideRefusesToStart(t *testing.T) {
	path := t.TempDir() + "/bidsieve.db"
	st, err := store.OpenSQLite(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A value the API would never write (it validates) but a damaged or hand-edited store
	// may hold.
	if _, _, err := st.Apply(t.Context(), store.Change{Who: "x", DSP: "alpha", Fields: []store.FieldChange{
		{Field: "recall_target", New: json.RawMessage("7"), Inherited: json.RawMessage("0.95")},
	}}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.NewSettings(t.Context(), baseConfig(t), st, nil)
	if err == nil || !strings.Contains(err.Error(), "dsp alpha: recall_target") || !strings.Contains(err.Error(), "settings store sqlite") {
		t.Fatalf("damaged override: %v", err)
	}
}

func TestWebPageIsServedWithAStrictPolicy(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/admin/", "/admin/app.js", "/admin/app.css"} {
		res, err := e.http.Client().Get(e.http.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("%s: %d, CSP %q", p, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
		if len(res.Cookies()) != 0 {
			t.Fatalf("%s sets a cookie", p)
		}
	}
	res, err := e.http.Client().Get(e.http.URL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/admin/" {
		t.Fatalf("/admin went to %s", res.Request.URL.Path)
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestAnotherProcessesChangeIsRetried runs two instances on one SQLite file: a change
// through one reaches the other by polling; when the other's gateway refuses it once, it
// is retried at the next poll instead of being skipped.
func TestAnotherProcessesChangeIsRetried(t *testing.T) {
	path := t.TempDir() + "/bidsieve.db"
	a, b := newEnvAt(t, path), newEnvAt(t, path)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { b.settings.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	b.gw.refuse.Store(1)
	if st, body := a.do("PATCH", "/admin/api/dsps/alpha", managerToken, `{"qps_limit": 99}`, nil); st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for b.gw.last().DSP("alpha").QPSLimit != 99 {
		if time.Now().After(deadline) {
			t.Fatal("the change refused once was never put in force")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if b.gw.refuse.Load() != 0 || !strings.Contains(b.logs.String(), "retrying") {
		t.Fatalf("the refusal did not happen or was not logged:\n%s", b.logs.String())
	}
}
