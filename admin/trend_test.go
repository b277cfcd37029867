package admin_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/admin"
	"github.com/bidsieve/bidsieve/internal/logtest"
	"github.com/bidsieve/bidsieve/stats"
)

var trendDay0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func trendPoint(at time.Time, model string, recall, withheld float64) admin.TrendPoint {
	return admin.TrendPoint{At: at, Model: model, DSPs: map[string]admin.TrendFigure{
		"alpha": {Recall: &stats.Interval{Estimate: recall, Lower: recall - 0.02, Upper: recall + 0.01}, Withheld: withheld, Offered: 1000},
	}}
}

// TestTrendKeepsSevenDaysAcrossRestarts: points are kept for seven days on the points'
// clock, survive a reopen of the file (a restart), a torn or foreign line is skipped,
// and the file is compacted instead of growing without end.
func TestTrendKeepsSevenDaysAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), admin.TrendFile)
	tr, err := admin.OpenTrend(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ten days, a point every 2 hours.
	const every = 2 * time.Hour
	n := int(10 * 24 * time.Hour / every)
	for i := range n {
		if err := tr.Add(trendPoint(trendDay0.Add(time.Duration(i)*every), "m1", 0.95, 0.5)); err != nil {
			t.Fatal(err)
		}
	}
	newest := trendDay0.Add(time.Duration(n-1) * every)
	kept := tr.Last(30 * 24 * time.Hour)
	if want := int(admin.TrendKeep/every) + 1; len(kept) != want {
		t.Fatalf("kept %d points, want %d (seven days at one per 2 h)", len(kept), want)
	}
	if !kept[0].At.Equal(newest.Add(-admin.TrendKeep)) || !kept[len(kept)-1].At.Equal(newest) {
		t.Fatalf("kept %s .. %s, want the seven days before %s", kept[0].At, kept[len(kept)-1].At, newest)
	}
	if day := tr.Last(24 * time.Hour); len(day) != 13 {
		t.Fatalf("the last day has %d points, want 13", len(day))
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines > 2*len(kept)+64 {
		t.Fatalf("the file has %d lines for %d points kept: it is not compacted", lines, len(kept))
	}
	// A torn last line, as after a crash mid-write, and a foreign one.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("not json\n{\"at\": \"2026-03-")
	_ = f.Close()

	var logs logtest.Buffer
	again, err := admin.OpenTrend(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	got := again.Last(30 * 24 * time.Hour)
	if len(got) != len(kept) || !got[len(got)-1].At.Equal(newest) || *got[0].DSPs["alpha"].Recall != *kept[0].DSPs["alpha"].Recall {
		t.Fatalf("after a restart %d points (want %d) ending %v", len(got), len(kept), got[len(got)-1].At)
	}
	if !strings.Contains(logs.String(), "skipped=2") {
		t.Errorf("the skipped lines are not reported: %q", logs.String())
	}
	// A point after the restart goes on from there.
	if err := again.Add(trendPoint(newest.Add(every), "m2", 0.9, 0.4)); err != nil {
		t.Fatal(err)
	}
	if last := again.Last(time.Hour); len(last) != 1 || last[0].Model != "m2" {
		t.Fatalf("the newest point after a restart: %+v", last)
	}

	if _, err := admin.OpenTrend(t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "trend file") {
		t.Errorf("a folder as the trend file: %v, want an error naming the trend file", err)
	}
}

// TestTrendAPI: the viewer reads the points of the last days with the model changes
// marked; days is checked; without a trend the answer says why the chart is empty.
func TestTrendAPI(t *testing.T) {
	e := newEnv(t)
	tr, err := admin.OpenTrend("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 24 * 4 { // four days, hourly; m1, then m2 from day 2, then m3 from day 3
		model := []string{"m1", "m1", "m2", "m3"}[i/24]
		if err := tr.Add(trendPoint(trendDay0.Add(time.Duration(i)*time.Hour), model, 0.95, 0.5)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := admin.New(admin.Options{Settings: e.settings, Trend: tr})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv)
	t.Cleanup(h.Close)
	e.http = h

	var resp struct {
		Points []admin.TrendPoint `json:"points"`
		Models []struct {
			At      time.Time `json:"at"`
			Version string    `json:"version"`
		} `json:"models"`
	}
	if st, body := e.do("GET", "/admin/api/trend", viewerToken, nil, &resp); st != 200 {
		t.Fatalf("trend as viewer: %d %s", st, body)
	}
	if len(resp.Points) != 96 || len(resp.Models) != 3 || resp.Models[1].Version != "m2" ||
		!resp.Models[1].At.Equal(trendDay0.Add(48*time.Hour)) || resp.Points[0].DSPs["alpha"].Recall.Estimate != 0.95 {
		t.Fatalf("trend: %d points, marks %+v", len(resp.Points), resp.Models)
	}
	if st, _ := e.do("GET", "/admin/api/trend?days=1", viewerToken, nil, &resp); st != 200 || len(resp.Points) != 25 ||
		len(resp.Models) != 2 || resp.Models[0].Version != "m2" || resp.Models[1].Version != "m3" {
		t.Fatalf("one day: %d points, marks %+v; want 25 points, m2 then m3", len(resp.Points), resp.Models)
	}
	for _, bad := range []string{"0", "8", "x"} {
		var ae struct{ Error, Field string }
		if st, _ := e.do("GET", "/admin/api/trend?days="+bad, viewerToken, nil, &ae); st != 400 || ae.Field != "days" {
			t.Errorf("days=%s: %d %+v, want 400 naming days", bad, st, ae)
		}
	}
	if st, _ := e.do("GET", "/admin/api/trend", "", nil, nil); st != 401 {
		t.Errorf("trend without a token: %d, want 401", st)
	}

	srv, err = admin.New(admin.Options{Settings: e.settings})
	if err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(srv)
	t.Cleanup(e.http.Close)
	var none struct {
		Points []admin.TrendPoint `json:"points"`
		Note   string             `json:"note"`
	}
	if st, _ := e.do("GET", "/admin/api/trend", viewerToken, nil, &none); st != 200 || len(none.Points) != 0 ||
		!strings.Contains(none.Note, "admin_trend_every") {
		t.Errorf("without a trend: %d %+v, want an empty list and a note naming admin_trend_every", st, none)
	}
}

// TestRecordTrendSamplesTheGateway: the recorder stamps points with the gateway's clock
// (simulated under serve --clock) and takes each DSP's live recall and withheld share
// from the figures, the model version from the model in force.
func TestRecordTrendSamplesTheGateway(t *testing.T) {
	gw := &fakeGateway{}
	gw.model.Store(testModel("m7"))
	tr, err := admin.OpenTrend("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sim := trendDay0
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); sim = sim.Add(6 * time.Hour); return sim }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); admin.RecordTrend(ctx, tr, 5*time.Millisecond, now, gw, gw) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(tr.Last(30*24*time.Hour)) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	pts := tr.Last(30 * 24 * time.Hour)
	if len(pts) < 3 {
		t.Fatalf("%d points recorded in 5 s at one per 5 ms", len(pts))
	}
	if d := pts[1].At.Sub(pts[0].At); d != 6*time.Hour {
		t.Errorf("points %s apart, want 6h: the gateway's clock, not the wall clock", d)
	}
	want := gw.Figures()["alpha"]
	got := pts[0].DSPs["alpha"]
	if pts[0].Model != "m7" || got.Withheld != want.Withheld() || got.Recall == nil || *got.Recall != *want.Recall() || got.Offered != want.Offered {
		t.Errorf("point %+v alpha %+v, want model m7 and alpha's live figures", pts[0], got)
	}
	if len(pts[0].DSPs) != 6 {
		t.Errorf("%d DSPs in a point, want the six the gateway has figures for", len(pts[0].DSPs))
	}
}

// TestBrowserTrendChart drives the page in headless Chromium: the trend section draws the
// chosen DSP's live recall band and line, its withheld share and a dashed mark per model
// version in force, and follows the DSP chosen in its list.
func TestBrowserTrendChart(t *testing.T) {
	findBrowser(t)
	e := newEnv(t)
	tr, err := admin.OpenTrend("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 24 * 3 {
		p := trendPoint(trendDay0.Add(time.Duration(i)*time.Hour), []string{"m1", "m2", "m2"}[i/24], 0.9+0.001*float64(i%24), 0.4)
		p.DSPs["bravo"] = admin.TrendFigure{Withheld: 0.2, Offered: 10} // too few bids for a recall
		if err := tr.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := admin.New(admin.Options{Settings: e.settings, Figures: e.gw, Models: e.gw, Load: e.gw, Trend: tr})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv)
	t.Cleanup(h.Close)

	wd := startBrowser(t, 1360, 1460)
	wd.navigate(h.URL + "/admin/")
	wd.typeInto("#token", viewerToken)
	wd.click("#signin")
	wd.waitJS("alpha's trend", `return document.getElementById("trend-dsp").value === "alpha" &&
		!!document.querySelector("#trend-chart path.recall-line") && !!document.querySelector("#trend-chart polygon.recall-band") &&
		!!document.querySelector("#trend-chart path.withheld")`)
	var marks []string
	wd.js(`return [...document.querySelectorAll("#trend-chart text.version-label")].map((e) => e.textContent)`, &marks)
	if strings.Join(marks, ",") != "m1,m2" {
		t.Errorf("version marks %q, want m1,m2", marks)
	}
	if note := wd.text("#trend-note"); !strings.Contains(note, "72 points") {
		t.Errorf("trend note %q, want the 72 points", note)
	}
	// bravo has no recall estimate: its withheld line only.
	wd.js(`const s = document.getElementById("trend-dsp"); s.value = "bravo"; s.dispatchEvent(new Event("change")); return null`, nil)
	wd.waitJS("bravo's trend", `return !document.querySelector("#trend-chart path.recall-line") && !!document.querySelector("#trend-chart path.withheld")`)
}
