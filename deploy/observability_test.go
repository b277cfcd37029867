package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/gateway/telemetry"
	"github.com/bidsieve/bidsieve/internal/ortbtest"
)

// promtool runs Prometheus' own checker. Without it the test skips, except in CI
// (CI=true), where .ci/run installs it and a missing tool is a failure.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found (Debian package prometheus): CI must run the rule tests")
		}
		t.Skip("promtool not found (apt-get install prometheus): rules not checked")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = "prometheus"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// The alert rules are valid and each alert's unit test (alerts_test.yaml) passes; the
// compose stack's Prometheus configuration loads them.
func TestAlertRules(t *testing.T) {
	promtool(t, "check", "rules", "alerts.yaml")
	promtool(t, "test", "rules", "alerts_test.yaml")
	promtool(t, "check", "config", "prometheus.yml")

	// Every alert has a test.
	tested := map[string]bool{}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, "prometheus/alerts_test.yaml", &tests)
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			tested[a.Alertname] = true
		}
	}
	for _, r := range alertRules(t) {
		if !tested[r.Alert] {
			t.Errorf("alert %s has no unit test in alerts_test.yaml", r.Alert)
		}
	}
}

type rule struct {
	Alert string `yaml:"alert"`
	Expr  string `yaml:"expr"`
}

func alertRules(t *testing.T) []rule {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "prometheus/alerts.yaml", &f)
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatal("no alert rules")
	}
	return out
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// dashboardExprs returns the PromQL of every panel (and template query) of the dashboard.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("grafana/bidsieve.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title      string `json:"title"`
			Type       string `json:"type"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var ds struct {
		Datasources []struct {
			UID string `yaml:"uid"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	out := map[string]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if len(ds.Datasources) == 0 || p.Datasource.UID != ds.Datasources[0].UID {
			t.Errorf("panel %q uses data source %q, which Grafana's provisioning does not define", p.Title, p.Datasource.UID)
		}
		for i, tg := range p.Targets {
			out[fmt.Sprintf("panel %q query %d", p.Title, i)] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		out["variable "+v.Name] = v.Definition
	}
	return out
}

// metricRE finds metric names in PromQL: bidsieve's own and the Go and process
// collectors' (up is Prometheus' own).
var metricRE = regexp.MustCompile(`\b(?:bidsieve|process|go)_[a-z0-9_]+\b`)

// registeredRE finds instrument registrations in Go source: the name is the first
// argument of an OpenTelemetry instrument constructor.
var registeredRE = regexp.MustCompile(`(Int64Counter|Float64Counter|Int64UpDownCounter|Int64Histogram|Float64Histogram|Int64ObservableGauge|Float64ObservableGauge|Int64Gauge|Float64Gauge|Int64ObservableCounter|Float64ObservableCounter)\(\s*"(bidsieve_[a-z0-9_]+)"`)

// registeredMetrics lists the series names the code registers, read from every Go file
// of the module (tests aside): a histogram serves _bucket, _sum and _count.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range registeredRE.FindAllStringSubmatch(string(src), -1) {
			if strings.HasSuffix(m[1], "Histogram") {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					out[m[2]+s] = true
				}
			} else {
				out[m[2]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !out["bidsieve_auctions_total"] {
		t.Fatalf("no registration found for bidsieve_auctions_total: the pattern is out of date (%d names)", len(out))
	}
	return out
}

// scrapeGateway runs a gateway in process in front of a bidding DSP, sends it a few
// auctions and returns the metric names its /metrics serves.
func scrapeGateway(t *testing.T) map[string]bool {
	t.Helper()
	dspSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID, impID := ortbtest.FirstImp(r.Body)
		fmt.Fprintf(w, `{"id":%q,"seatbid":[{"bid":[{"id":"b","impid":%q,"price":1.5,"crid":"c"}]}]}`, reqID, impID)
	}))
	defer dspSrv.Close()
	cfg, err := config.Parse(fmt.Appendf(nil, "admin_listen: \"\"\nmodel: {path: \"\", max_age: 24h}\nbidlog: {dir: \"\"}\nstore: {sqlite: \"\"}\ndsps:\n  - {name: a, endpoint: %q}\n", dspSrv.URL+"/bid/a"))
	if err != nil {
		t.Fatal(err)
	}
	met, err := telemetry.NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	defer met.Provider.Shutdown(context.Background())
	g, err := gateway.New(cfg, gateway.Options{MeterProvider: met.Provider, MetricsHandler: met.Handler})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(context.Background())
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	for i := range 5 {
		resp, err := http.Post(srv.URL+"/openrtb2/auction", "application/json",
			strings.NewReader(fmt.Sprintf(`{"id":"r%d","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		out[name] = true
	}
	return out
}

// Every metric that the dashboard and the alerts query is one the gateway serves: read
// from a running gateway's /metrics, or (for series that appear only once something
// happens: a drop, a shed, a breaker opening) registered by the code.
func TestDashboardAndAlertsQueryRealMetrics(t *testing.T) {
	exprs := dashboardExprs(t)
	for _, r := range alertRules(t) {
		exprs["alert "+r.Alert] = r.Expr
	}
	registered := registeredMetrics(t)
	scraped := scrapeGateway(t)
	// The scrape is not empty: an auction's own series and the collectors' are there.
	for _, want := range []string{"bidsieve_auctions_total", "bidsieve_auction_duration_seconds_bucket", "bidsieve_dsp_requests_total",
		"bidsieve_dsp_decisions_total", "bidsieve_dsp_breaker_state", "bidsieve_model_loaded", "bidsieve_model_max_age_seconds", "process_cpu_seconds_total"} {
		if !scraped[want] {
			t.Errorf("the running gateway's /metrics lacks %s", want)
		}
	}
	used := map[string][]string{}
	for where, e := range exprs {
		if strings.TrimSpace(e) == "" {
			t.Errorf("%s: empty query", where)
		}
		for _, name := range metricRE.FindAllString(e, -1) {
			used[name] = append(used[name], where)
		}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if scraped[n] {
			continue
		}
		if strings.HasPrefix(n, "bidsieve_") && registered[n] {
			continue
		}
		slices.Sort(used[n])
		t.Errorf("%s is queried (%s) but the gateway neither serves nor registers it", n, strings.Join(used[n], "; "))
	}
	// The list: each of these is on the dashboard.
	for _, want := range []string{"bidsieve_auctions_total", "bidsieve_auction_duration_seconds_bucket", "bidsieve_dsp_decisions_total",
		"bidsieve_dsp_bids_total", "bidsieve_dsp_live_recall", "bidsieve_dsp_recall_target", "bidsieve_dsp_breaker_state",
		"bidsieve_model_info", "bidsieve_model_age_seconds", "bidsieve_bidlog_rows_dropped_total"} {
		var onDashboard bool
		for _, where := range used[want] {
			onDashboard = onDashboard || strings.HasPrefix(where, "panel")
		}
		if !onDashboard {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}
