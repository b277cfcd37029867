package config

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultIsValidAndPointsAtTheSimulator(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("embedded default config does not validate: %v", err)
	}
	var names []string
	for _, d := range c.DSPs {
		names = append(names, d.Name)
		if want := "http://127.0.0.1:9001/bid/" + d.Name; d.Endpoint != want {
			t.Errorf("dsp %s endpoint = %q, want %q", d.Name, d.Endpoint, want)
		}
		if !d.Enabled || d.BidAdjustment != 1 || len(d.NoticeHosts) != 1 || d.NoticeHosts[0] != "127.0.0.1" {
			t.Errorf("dsp %s: enabled=%v bid_adjustment=%v notice_hosts=%v", d.Name, d.Enabled, d.BidAdjustment, d.NoticeHosts)
		}
	}
	if diff := cmp.Diff([]string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}, names); diff != "" {
		t.Errorf("default DSPs (-want +got):\n%s", diff)
	}
	if c.Auction.DefaultTMax != 200*time.Millisecond || c.Auction.MaxTMax != time.Second || c.Auction.SafetyMargin != 15*time.Millisecond {
		t.Errorf("auction defaults = %+v", c.Auction)
	}
}

func TestLoadWithoutFileUsesEmbeddedDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Default(), c); diff != "" {
		t.Errorf("Load(\"\") differs from Default (-want +got):\n%s", diff)
	}
}

func TestParseAppliesDefaultsPerDSP(t *testing.T) {
	c, err := Parse([]byte(`
auction: {max_tmax: 500ms}
currency: {rates: {JPY: 0.0067}}
dsps:
  - name: a
    endpoint: http://127.0.0.1:1/bid
  - name: b
    endpoint: http://127.0.0.1:2/bid
    enabled: false
    bid_adjustment: 0.8
    recall_target: 0.9
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Auction.MaxTMax = 500 * time.Millisecond
	want.Currency.Rates = map[string]float64{"JPY": 0.0067} // a file's rates replace the defaults
	a, b := DefaultDSP(), DefaultDSP()
	a.Name, a.Endpoint = "a", "http://127.0.0.1:1/bid"
	b.Name, b.Endpoint, b.Enabled, b.BidAdjustment = "b", "http://127.0.0.1:2/bid", false, 0.8
	r := 0.9
	b.RecallTarget = &r
	want.DSPs = []DSP{a, b}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	sh := c.DSPs[1].ShapingFor(c.Shaping)
	if sh.RecallTarget != 0.9 || sh.Mode != ModeFilter || sh.ExplorationRate != 0.02 || sh.Threshold != nil {
		t.Errorf("ShapingFor = %+v", sh)
	}
}

func TestParseIsStrict(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings, each must appear
	}{
		{"unknown top-level key", "listen: ':1'\nlisten_addr: ':2'\n", []string{"line 2: listen_addr: unknown key"}},
		{"unknown nested key", "auction:\n  tmax: 100ms\n", []string{"line 2: auction.tmax: unknown key"}},
		{"unknown DSP key", "dsps:\n  - name: a\n    endpoint: http://x/\n    targetting: {}\n", []string{"line 4: dsps[0].targetting: unknown key"}},
		{"unknown targeting key", "dsps:\n  - name: a\n    targeting: {format: [video]}\n", []string{"line 3: dsps[0].targeting.format: unknown key"}},
		{"bare number duration", "auction: {max_tmax: 500}\n", []string{"line 1: auction.max_tmax: invalid duration \"500\""}},
		{"bad duration", "dsps:\n  - {name: a, timeout: soon}\n", []string{"line 2: dsps[0].timeout: invalid duration \"soon\""}},
		{"string for a number", "shaping: {recall_target: high}\n", []string{"line 1: shaping.recall_target: invalid value \"high\" for a number"}},
		{"string for a bool", "dsps:\n  - {name: a, enabled: maybe}\n", []string{"line 2: dsps[0].enabled: invalid value \"maybe\" for a boolean"}},
		{"list for a string", "listen: [a, b]\n", []string{"line 1: listen: want a single value"}},
		{"every problem at once", "foo: 1\nbar: 2\n", []string{"line 1: foo: unknown key", "line 2: bar: unknown key"}},
		{"repeated key", "listen: ':1'\nlisten: ':2'\n", []string{"line 2: listen: duplicate key"}},
		{"syntax", "listen: [\n", []string{"line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseEmptyGivesDefaults(t *testing.T) {
	for _, in := range []string{"", "  \n", "# nothing\n", "~\n"} {
		c, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if diff := cmp.Diff(Defaults(), c); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	c := Default()
	err := c.ApplyEnv([]string{
		"BIDSIEVE_LISTEN=:9999",
		"BIDSIEVE_AUCTION_MAX_TMAX=800ms",
		"BIDSIEVE_AUCTION_SEED=42",
		"BIDSIEVE_SHAPING_RECALL_TARGET=0.97",
		"BIDSIEVE_CURRENCY_RATES=EUR=1.1, JPY=0.0067",
		"BIDSIEVE_TRACING_HEADERS=api-key=s3cret=, x-tenant=ops",
		"BIDSIEVE_SERVER_DRAIN_DELAY=5s",
		"BIDSIEVE_DSPS_ALPHA_TIMEOUT=120ms",
		"BIDSIEVE_DSPS_ALPHA_ENABLED=false",
		"BIDSIEVE_DSPS_BRAVO_NOTICE_HOSTS=a.example, b.example",
		"BIDSIEVE_DSPS_BRAVO_THRESHOLD=0.3",
		"BIDSIEVE_DSPS_CHARLIE_TARGETING_CHANNELS=site",
		"BIDSIEVE_TEST_POSTGRES=postgres://ignored", // names no key: ignored
		"BIDSIEVE_DSPS_NOSUCH_TIMEOUT=1s",           // no such DSP: ignored
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9999" || c.Auction.MaxTMax != 800*time.Millisecond || c.Auction.Seed != 42 || c.Shaping.RecallTarget != 0.97 {
		t.Errorf("scalars not applied: listen=%q max_tmax=%v seed=%d recall=%v", c.Listen, c.Auction.MaxTMax, c.Auction.Seed, c.Shaping.RecallTarget)
	}
	if diff := cmp.Diff(map[string]float64{"EUR": 1.1, "JPY": 0.0067}, c.Currency.Rates); diff != "" {
		t.Errorf("rates (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"api-key": "s3cret=", "x-tenant": "ops"}, c.Tracing.Headers); diff != "" {
		t.Errorf("tracing headers (-want +got):\n%s", diff)
	}
	if c.Server.DrainDelay != 5*time.Second {
		t.Errorf("server.drain_delay = %v, want 5s", c.Server.DrainDelay)
	}
	alpha, bravo := c.DSP("alpha"), c.DSP("bravo")
	if alpha.Timeout != 120*time.Millisecond || alpha.Enabled {
		t.Errorf("alpha = %+v", alpha)
	}
	if diff := cmp.Diff([]string{"a.example", "b.example"}, bravo.NoticeHosts); diff != "" {
		t.Errorf("bravo notice hosts (-want +got):\n%s", diff)
	}
	if bravo.Threshold == nil || *bravo.Threshold != 0.3 {
		t.Errorf("bravo threshold = %v", bravo.Threshold)
	}
	if diff := cmp.Diff([]string{"site"}, c.DSP("charlie").Targeting.Channels); diff != "" {
		t.Errorf("charlie channels (-want +got):\n%s", diff)
	}
}

func TestApplyEnvReportsEveryBadValue(t *testing.T) {
	c := Default()
	err := c.ApplyEnv([]string{"BIDSIEVE_AUCTION_MAX_TMAX=1000", "BIDSIEVE_DSPS_ALPHA_QPS_LIMIT=lots"})
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, w := range []string{
		`BIDSIEVE_AUCTION_MAX_TMAX: invalid duration "1000"`,
		`BIDSIEVE_DSPS_ALPHA_QPS_LIMIT: invalid integer "lots"`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestLoadAppliesEnvThenValidates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("listen: ':7000'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, []string{"BIDSIEVE_LISTEN=:7001"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":7001" {
		t.Errorf("listen = %q, want the environment's :7001", c.Listen)
	}
	_, err = Load(path, []string{"BIDSIEVE_SHAPING_MODE=aggressive"})
	if err == nil || !strings.Contains(err.Error(), `shaping.mode: must be one of filter, shadow, off, got "aggressive"`) {
		t.Errorf("Load with a bad mode: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestCloneIsDeep(t *testing.T) {
	c := Default()
	r := 0.9
	c.DSPs[0].RecallTarget = &r
	n := c.Clone()
	if diff := cmp.Diff(c, n); diff != "" {
		t.Fatalf("clone differs (-orig +clone):\n%s", diff)
	}
	n.DSPs[0].NoticeHosts[0] = "changed"
	*n.DSPs[0].RecallTarget = 0.6
	n.Currency.Rates["EUR"] = 9
	n.DSPs[1].Name = "changed"
	if c.DSPs[0].NoticeHosts[0] == "changed" || *c.DSPs[0].RecallTarget != 0.9 || c.Currency.Rates["EUR"] == 9 || c.DSPs[1].Name == "changed" {
		t.Error("changing the clone changed the original")
	}
}

func TestWatchSeesWritesAndRenames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bidsieve.yaml")
	if err := os.WriteFile(path, []byte("listen: ':1'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, path, 20*time.Millisecond, func() { calls.Add(1) }) }()
	time.Sleep(100 * time.Millisecond) // let the watcher start

	waitCalls := func(want int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := calls.Load(); got < want {
			t.Fatalf("changed called %d times, want %d", got, want)
		}
	}
	if err := os.WriteFile(path, []byte("listen: ':2'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitCalls(1)
	tmp := filepath.Join(dir, "new.tmp")
	if err := os.WriteFile(tmp, []byte("listen: ':3'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitCalls(2)
	before := calls.Load()
	if err := os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if calls.Load() != before {
		t.Error("a change to another file in the folder triggered a reload")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// docs/DESIGN.md ("Configuration") says store is {sqlite: FILE} "or {postgres: URL}": choosing PostgreSQL in the
// file or the environment must not collide with the default SQLite file.
func TestChoosingPostgresReplacesTheDefaultSQLite(t *testing.T) {
	const url = "postgres://bidsieve@db:5432/bidsieve"
	dir := t.TempDir()
	file := filepath.Join(dir, "pg.yaml")
	if err := os.WriteFile(file, []byte("store: {postgres: \""+url+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, nil)
	if err != nil {
		t.Fatalf("file choosing postgres: %v", err)
	}
	if c.Store.Postgres != url || c.Store.SQLite != "" {
		t.Errorf("store = %+v, want only postgres", c.Store)
	}

	c, err = Load("", []string{"BIDSIEVE_STORE_POSTGRES=" + url})
	if err != nil {
		t.Fatalf("environment choosing postgres: %v", err)
	}
	if c.Store.Postgres != url || c.Store.SQLite != "" {
		t.Errorf("store = %+v, want only postgres", c.Store)
	}

	// Both named explicitly is still an error.
	if _, err := Load("", []string{"BIDSIEVE_STORE_POSTGRES=" + url, "BIDSIEVE_STORE_SQLITE=x.db"}); err == nil ||
		!strings.Contains(err.Error(), "store: set sqlite or postgres, not both") {
		t.Errorf("both set: err = %v", err)
	}
}

// parseWithEnv is Parse(yaml) with the environment env applied over it, as the serve
// command loads a file; either failing fails the test.
func parseWithEnv(t *testing.T, yaml string, env ...string) *Config {
	t.Helper()
	c, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyEnv(env); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestShapingModelAndBidLogKeys(t *testing.T) {
	c := parseWithEnv(t, `
shaping: {seed: 42}
model: {path: m.bsm, max_age: 48h}
bidlog: {dir: logs, roll_interval: 30s, queue: 100, max_file_bytes: 2097152}
`, "BIDSIEVE_MODEL_MAX_AGE=72h", "BIDSIEVE_BIDLOG_QUEUE=50")
	want := Defaults()
	want.Shaping.Seed = 42
	want.Model = Model{Path: "m.bsm", MaxAge: 72 * time.Hour}
	want.BidLog.Dir, want.BidLog.RollInterval, want.BidLog.Queue, want.BidLog.MaxFileBytes = "logs", 30*time.Second, 50, 2<<20
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if d := Defaults(); d.BidLog.RollInterval != time.Minute || d.Model.MaxAge != 0 || d.Shaping.Seed != 0 {
		t.Errorf("defaults: roll_interval %s, max_age %s, seed %d; want 1m, 0 (no limit), 0 (random)", d.BidLog.RollInterval, d.Model.MaxAge, d.Shaping.Seed)
	}
}

func TestBidLogKafkaKeys(t *testing.T) {
	c := parseWithEnv(t, `
bidlog:
  kafka: {brokers: ["k1:9092"], topic: bl, compression: lz4, linger: 20ms, max_buffered_records: 5000, delivery_timeout: 1m}
`, "BIDSIEVE_BIDLOG_KAFKA_BROKERS=k1:9092,k2:9092", "BIDSIEVE_BIDLOG_KAFKA_CLIENT_ID=replica-7")
	want := Defaults().BidLog.Kafka
	want.Brokers, want.Topic, want.ClientID, want.Compression = []string{"k1:9092", "k2:9092"}, "bl", "replica-7", CompressionLZ4
	want.Linger, want.MaxBufferedRecords, want.DeliveryTimeout = 20*time.Millisecond, 5000, time.Minute
	if diff := cmp.Diff(want, c.BidLog.Kafka); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if !c.BidLog.Kafka.Enabled() || Defaults().BidLog.Kafka.Enabled() {
		t.Error("Enabled: brokers set should enable Kafka, the defaults should not")
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid Kafka config refused: %v", err)
	}
	if _, err := Parse([]byte("bidlog: {kafka: {brokers: [k:9092], partitions: 3}}")); err == nil {
		t.Error("an unknown bidlog.kafka key was accepted")
	}
}

func TestBreakerKeys(t *testing.T) {
	c := parseWithEnv(t, `
breaker: {window: 20s, min_calls: 50, failure_ratio: 0.6, trial_share: 0.1, trial_calls: 30, close_ratio: 0.9,
  lag_tolerance: 5ms, rate_decrease: 0.7, rate_floor: 0.1, rate_recovery: 0.2, max_retry_after: 30s}
`, "BIDSIEVE_BREAKER_MIN_CALLS=200", "BIDSIEVE_BREAKER_TRIAL_SHARE=0.02")
	want := Defaults()
	b := &want.Breaker
	b.Window, b.MinCalls, b.FailureRatio = 20*time.Second, 200, 0.6
	b.TrialShare, b.TrialCalls, b.CloseRatio = 0.02, 30, 0.9
	b.LagTolerance, b.RateDecrease, b.RateFloor, b.RateRecovery, b.MaxRetryAfter = 5*time.Millisecond, 0.7, 0.1, 0.2, 30*time.Second
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid breaker keys refused: %v", err)
	}
	if d := Defaults().Breaker; d.Window != 10*time.Second || d.MinCalls != 100 || d.FailureRatio != 0.5 || d.TrialShare != 0.05 {
		t.Errorf("defaults: window %s, min_calls %d, failure_ratio %g, trial_share %g; want 10s, 100, 0.5, 0.05 (issue 15)",
			d.Window, d.MinCalls, d.FailureRatio, d.TrialShare)
	}
}

func TestOverloadKeys(t *testing.T) {
	c := parseWithEnv(t, "overload: {max_inflight: 500, max_wait: 8ms, retry_after: 2s}\n", "BIDSIEVE_OVERLOAD_MAX_WAIT=3ms")
	if want := (Overload{MaxInflight: 500, MaxWait: 3 * time.Millisecond, RetryAfter: 2 * time.Second}); c.Overload != want {
		t.Errorf("overload = %+v, want %+v", c.Overload, want)
	}
	if d := Defaults().Overload; d != (Overload{MaxWait: 20 * time.Millisecond, RetryAfter: time.Second}) {
		t.Errorf("default overload = %+v, want max_wait 20ms, retry_after 1s, the cap from the cores", d)
	}
}

func TestNoBidAndCORSKeys(t *testing.T) {
	if d := Defaults(); d.Auction.NoBid != NoBidAuto || len(d.CORS.AllowedOrigins) != 0 {
		t.Errorf("defaults: nobid %q, allowed origins %q; want auto and none (any origin)", d.Auction.NoBid, d.CORS.AllowedOrigins)
	}
	c, err := Parse([]byte("auction: {nobid: 204}\ncors: {allowed_origins: [https://news.example, 'http://127.0.0.1:8000']}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Auction.NoBid != NoBid204 || !slices.Equal(c.CORS.AllowedOrigins, []string{"https://news.example", "http://127.0.0.1:8000"}) {
		t.Errorf("parsed nobid %q, allowed origins %q", c.Auction.NoBid, c.CORS.AllowedOrigins)
	}
	n := c.Clone()
	n.CORS.AllowedOrigins[0] = "https://changed.example"
	if c.CORS.AllowedOrigins[0] != "https://news.example" {
		t.Error("changing the clone's allowed origins changed the original")
	}
	if err := c.ApplyEnv([]string{"BIDSIEVE_AUCTION_NOBID=200"}); err != nil || c.Auction.NoBid != NoBid200 {
		t.Errorf("BIDSIEVE_AUCTION_NOBID=200: nobid %q, err %v", c.Auction.NoBid, err)
	}
}

func TestDebugAndAliasKeys(t *testing.T) {
	if Defaults().Debug.Allow || Default().Debug.Allow {
		t.Error("debug.allow is on by default; want off")
	}
	c, err := Parse([]byte("debug: {allow: true}\ndsps: [{name: alpha, endpoint: 'http://127.0.0.1:1/', aliases: [alphaMedia, a2]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Debug.Allow || !slices.Equal(c.DSPs[0].Aliases, []string{"alphaMedia", "a2"}) {
		t.Errorf("parsed debug.allow %v, aliases %q", c.Debug.Allow, c.DSPs[0].Aliases)
	}
	n := c.Clone()
	n.DSPs[0].Aliases[0] = "changed"
	if c.DSPs[0].Aliases[0] != "alphaMedia" {
		t.Error("changing the clone's aliases changed the original")
	}
	if err := c.ApplyEnv([]string{"BIDSIEVE_DEBUG_ALLOW=false", "BIDSIEVE_DSPS_ALPHA_ALIASES=x1,x2"}); err != nil || c.Debug.Allow ||
		!slices.Equal(c.DSPs[0].Aliases, []string{"x1", "x2"}) {
		t.Errorf("env: debug.allow %v, aliases %q, err %v", c.Debug.Allow, c.DSPs[0].Aliases, err)
	}
}

func TestRemovedBreakerKeysAreRefusedWithTheirReplacement(t *testing.T) {
	_, err := Parse([]byte(`
listen: ":9000"
breaker:
  consecutive_failures: 5
  open_timeout: 5s
  half_open_requests: 1
  min_calls: 50
  surprise: 1
`))
	if err == nil {
		t.Fatal("a file with the removed breaker keys was accepted")
	}
	for _, want := range []string{
		"line 4: breaker.consecutive_failures: removed key; use breaker.failure_ratio and breaker.min_calls",
		"line 5: breaker.open_timeout: removed key; use breaker.trial_share and breaker.close_ratio",
		"line 6: breaker.half_open_requests: removed key; use breaker.trial_calls",
		"line 8: breaker.surprise: unknown key", // other problems are still reported with them
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "consecutive_failures: unknown key") {
		t.Errorf("a removed key is also reported as unknown: %q", err)
	}

	c := Defaults()
	err = c.ApplyEnv([]string{"BIDSIEVE_BREAKER_CONSECUTIVE_FAILURES=3", "BIDSIEVE_BREAKER_MIN_CALLS=oops"})
	for _, want := range []string{
		"BIDSIEVE_BREAKER_CONSECUTIVE_FAILURES: sets the removed key breaker.consecutive_failures; use breaker.failure_ratio",
		`BIDSIEVE_BREAKER_MIN_CALLS: invalid integer "oops"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ApplyEnv error %v\nlacks %q", err, want)
		}
	}
	if _, err := Load("", []string{"BIDSIEVE_BREAKER_OPEN_TIMEOUT=1s"}); err == nil || !strings.Contains(err.Error(), "breaker.trial_share") {
		t.Errorf("Load with a removed variable = %v, want an error naming breaker.trial_share", err)
	}
}
