package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValidate(t *testing.T) {
	ptr := func(f float64) *float64 { return &f }
	str := func(s string) *string { return &s }
	tests := []validateCase{
		{"default is valid", func(*Config) {}, nil},
		{"empty listen", func(c *Config) { c.Listen = "" }, []string{"listen: must not be empty"}},
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, []string{`listen: must be host:port or :port, got "localhost"`}},
		{"admin listen same as listen", func(c *Config) { c.AdminListen = c.Listen }, []string{"admin_listen: must differ from listen"}},
		{"admin listen empty is allowed", func(c *Config) { c.AdminListen = "" }, nil},
		{"zero default tmax", func(c *Config) { c.Auction.DefaultTMax = 0 }, []string{"auction.default_tmax: must be > 0"}},
		{"default tmax above max", func(c *Config) { c.Auction.DefaultTMax = 2 * time.Second }, []string{"auction.default_tmax: must be <= auction.max_tmax (1s)"}},
		{"negative safety margin", func(c *Config) { c.Auction.SafetyMargin = -time.Millisecond }, []string{"auction.safety_margin: must be >= 0"}},
		{"margin eats the deadline", func(c *Config) { c.Auction.SafetyMargin = 200 * time.Millisecond }, []string{"auction.safety_margin: must be < auction.default_tmax (200ms)"}},
		{"zero body limit", func(c *Config) { c.Auction.MaxBodyBytes = 0 }, []string{"auction.max_body_bytes: must be > 0"}},
		{"bad nobid", func(c *Config) { c.Auction.NoBid = "empty" }, []string{`auction.nobid: must be one of auto, 204, 200, got "empty"`}},
		{"nobid 200 for everyone", func(c *Config) { c.Auction.NoBid = NoBid200 }, nil},
		{"overload off", func(c *Config) { c.Overload.MaxInflight, c.Overload.MaxWait = -1, 0 }, nil},
		{"overload keys out of range", func(c *Config) {
			c.Overload = Overload{MaxInflight: -2, MaxWait: -time.Millisecond, RetryAfter: 1500 * time.Millisecond}
		}, []string{
			"overload.max_inflight: must be >= 0 (0: 1024 per core), or -1 for no cap",
			"overload.max_wait: must be >= 0 (0: never shed on the wait)",
			"overload.retry_after: must be whole seconds, at least 1s (Retry-After counts seconds)",
		}},
		{"cors origins", func(c *Config) {
			c.CORS.AllowedOrigins = []string{"https://news.example", "http://127.0.0.1:8000", "news.example", "https://news.example/page", "ftp://x", "https://u@x", "https://x?a"}
		}, []string{
			`cors.allowed_origins[2]: must be an origin, scheme://host[:port] (no path), got "news.example"`,
			`cors.allowed_origins[3]: must be an origin, scheme://host[:port] (no path), got "https://news.example/page"`,
			`cors.allowed_origins[4]: must be an origin, scheme://host[:port] (no path), got "ftp://x"`,
			`cors.allowed_origins[5]: must be an origin, scheme://host[:port] (no path), got "https://u@x"`,
			`cors.allowed_origins[6]: must be an origin, scheme://host[:port] (no path), got "https://x?a"`,
		}},
		{"lower-case base", func(c *Config) { c.Currency.Base = "usd" }, []string{`currency.base: must be a 3-letter upper-case ISO 4217 code, got "usd"`}},
		{"bad rate", func(c *Config) { c.Currency.Rates["EUR"] = 0 }, []string{"currency.rates.EUR: must be > 0 (the value of 1 EUR in USD)"}},
		{"bad rate code", func(c *Config) { c.Currency.Rates["euro"] = 1.1 }, []string{"currency.rates.euro: must be a 3-letter upper-case ISO 4217 code"}},
		{"base rate not 1", func(c *Config) { c.Currency.Rates["USD"] = 1.1 }, []string{"currency.rates.USD: the base currency's rate must be 1"}},
		{"bad mode", func(c *Config) { c.Shaping.Mode = "aggressive" }, []string{`shaping.mode: must be one of filter, shadow, off, got "aggressive"`}},
		{"recall too low", func(c *Config) { c.Shaping.RecallTarget = 0.4 }, []string{"shaping.recall_target: must be in [0.5, 1], got 0.4"}},
		{"bad drift action", func(c *Config) { c.Shaping.OnDrift = "panic" }, []string{`shaping.on_drift: must be one of alert, shadow, got "panic"`}},
		{"negative drift time", func(c *Config) { c.Shaping.DriftAfter = -time.Minute }, []string{"shaping.drift_after: must be >= 0 (0: no drift guard), got -1m0s"}},
		{"exploration too high", func(c *Config) { c.Shaping.ExplorationRate = 0.6 }, []string{"shaping.exploration_rate: must be in [0, 0.5], got 0.6"}},
		{"two stores", func(c *Config) { c.Store.Postgres = "postgres://x/y" }, []string{"store: set sqlite or postgres, not both"}},
		{"bad postgres url", func(c *Config) { c.Store = Store{Postgres: "mysql://x"} }, []string{"store.postgres: must be a postgres:// URL"}},
		{"bad tokens", func(c *Config) {
			c.Auth.Tokens = []Token{
				{Name: "ops", Role: "admin", SHA256: strings.Repeat("ab", 32)},
				{Name: "ops", Role: "root", SHA256: "xyz"},
			}
		}, []string{
			"auth.tokens[1].name: duplicate of auth.tokens[0]",
			`auth.tokens[1].role: must be viewer, manager or admin, got "root"`,
			"auth.tokens[1].sha256: must be 64 hex digits (the SHA-256 of the token)",
		}},
		{"bad log level", func(c *Config) { c.Log.Level = "trace" }, []string{`log.level: must be one of debug, info, warn, error, got "trace"`}},
		{"bad tracing exporter", func(c *Config) { c.Tracing.Exporter = "jaeger" }, []string{`tracing.exporter: must be one of none, stdout, otlp, got "jaeger"`}},
		{"otlp without endpoint", func(c *Config) { c.Tracing.Exporter = TracingOTLP }, []string{
			"tracing.endpoint: must be set for the otlp exporter (the collector's OTLP/HTTP URL, http://HOST:4318/v1/traces)"}},
		{"otlp endpoint not a URL", func(c *Config) {
			c.Tracing = Tracing{Exporter: TracingOTLP, Endpoint: "collector:4318", SampleRatio: 1.5, ServiceName: "", Headers: map[string]string{"bad name": "x"}}
		}, []string{
			"tracing.sample_ratio: must be in [0, 1], got 1.5",
			`tracing.endpoint: must be an http:// or https:// URL, got "collector:4318"`,
			`tracing.headers: invalid header name "bad name"`,
			"tracing.service_name: must not be empty",
		}},
		{"otlp", func(c *Config) {
			c.Tracing = Tracing{Exporter: TracingOTLP, Endpoint: "https://otel.example/v1/traces", Headers: map[string]string{"api-key": "k"}, SampleRatio: 0.01, ServiceName: "bidsieve"}
		}, nil},
		{"endpoint without otlp", func(c *Config) { c.Tracing.Endpoint = "http://collector:4318/v1/traces" }, []string{
			`tracing.endpoint: endpoint and headers apply to the otlp exporter only (exporter is "none")`}},
		{"shutdown_timeout renamed", func(c *Config) { c.ShutdownTimeout = time.Second }, []string{
			"shutdown_timeout: renamed server.drain_timeout (from the signal to the exit); set that instead"}},
		{"drain delay", func(c *Config) { c.Server = Server{DrainDelay: 5 * time.Second, DrainTimeout: 30 * time.Second} }, nil},
		{"bad drain", func(c *Config) { c.Server = Server{DrainDelay: -time.Second, DrainTimeout: 0} }, []string{
			"server.drain_delay: must be >= 0", "server.drain_timeout: must be > 0"}},
		{"drain delay eats the timeout", func(c *Config) { c.Server = Server{DrainDelay: 10 * time.Second, DrainTimeout: 10 * time.Second} }, []string{
			"server.drain_delay: must be < server.drain_timeout (10s): the delay is part of it"}},
		{"negative model age", func(c *Config) { c.Model.MaxAge = -time.Hour }, []string{"model.max_age: must be >= 0 (0: no limit)"}},
		{"model age 0 is no limit", func(c *Config) { c.Model.MaxAge = 0 }, nil},
		{"bad bid log settings", func(c *Config) {
			c.BidLog.RollInterval = 100 * time.Millisecond
			c.BidLog.Queue = 0
			c.BidLog.MaxFileBytes = 1000
		}, []string{
			"bidlog.roll_interval: must be >= 1s, got 100ms",
			"bidlog.queue: must be > 0",
			"bidlog.max_file_bytes: must be >= 1048576 (1 MiB)",
		}},
		{"kafka bid log", func(c *Config) { c.BidLog.Kafka.Brokers = []string{"kafka:9092"} }, nil},
		{"kafka keys out of range", func(c *Config) {
			k := &c.BidLog.Kafka
			k.Brokers, k.Topic, k.Compression = []string{"kafka:9092", "kafka"}, "bid log", "brotli"
			k.Linger, k.MaxBufferedRecords, k.MaxBufferedBytes, k.DeliveryTimeout = 2*time.Second, 10, 1000, -time.Second
		}, []string{
			`bidlog.kafka.brokers[1]: must be host:port, got "kafka"`,
			`bidlog.kafka.topic: "bid log" is not a Kafka topic name (at most 249 of [a-zA-Z0-9._-])`,
			`bidlog.kafka.compression: must be one of zstd, lz4, snappy, gzip, none, got "brotli"`,
			"bidlog.kafka.linger: must be in [0, 1s], got 2s",
			"bidlog.kafka.max_buffered_records: must be >= 1000, got 10",
			"bidlog.kafka.max_buffered_bytes: must be >= 1048576 (1 MiB), got 1000",
			"bidlog.kafka.delivery_timeout: must be >= 0 (0: retry until the buffer fills)",
		}},
		{"kafka without a topic", func(c *Config) { c.BidLog.Kafka.Brokers, c.BidLog.Kafka.Topic = []string{"k:1"}, "" }, []string{
			"bidlog.kafka.topic: must be set when brokers are"}},
		{"bad operator numbers", func(c *Config) {
			c.Notices.Workers = 0
			c.Fanout.MaxResponseBytes = -1
		}, []string{
			"fanout.max_response_bytes: must be > 0",
			"notices.workers: must be > 0",
		}},
		{"bad health breaker settings", func(c *Config) {
			c.Breaker.Window = 500 * time.Millisecond
			c.Breaker.MinCalls = 0
			c.Breaker.FailureRatio = 0
			c.Breaker.TrialShare = 1
			c.Breaker.TrialCalls = 65
			c.Breaker.CloseRatio = 1.5
			c.Breaker.LagTolerance = -time.Millisecond
			c.Breaker.RateDecrease = 1
			c.Breaker.RateFloor = -0.1
			c.Breaker.RateRecovery = 0
			c.Breaker.MaxRetryAfter = -time.Second
		}, []string{
			"breaker.window: must be >= 1s, got 500ms",
			"breaker.min_calls: must be >= 1, got 0",
			"breaker.failure_ratio: must be in (0, 1], got 0",
			"breaker.trial_share: must be in (0, 1), got 1",
			"breaker.trial_calls: must be in [1, 64], got 65",
			"breaker.close_ratio: must be in (0, 1], got 1.5",
			"breaker.lag_tolerance: must be >= 0, got -1ms",
			"breaker.rate_decrease: must be in (0, 1), got 1",
			"breaker.rate_floor: must be in (0, 1], got -0.1",
			"breaker.rate_recovery: must be > 0 (send share regained per second), got 0",
			"breaker.max_retry_after: must be >= 0 (0 ignores Retry-After), got -1s",
		}},
		{"health breaker edges are valid", func(c *Config) {
			c.Breaker.FailureRatio, c.Breaker.CloseRatio, c.Breaker.RateFloor = 1, 1, 1
			c.Breaker.TrialCalls, c.Breaker.MinCalls = 64, 1
			c.Breaker.LagTolerance, c.Breaker.MaxRetryAfter = 0, 0
		}, nil},
		{"bad DSP name", func(c *Config) { c.DSPs[0].Name = "Alpha One" }, []string{`dsps[0].name: must match [a-z0-9][a-z0-9_-]* (at most 63 characters), got "Alpha One"`}},
		{"duplicate DSP", func(c *Config) { c.DSPs[3].Name = "alpha" }, []string{"dsps[3].name: duplicate of dsps[0] (alpha)"}},
		{"relative endpoint", func(c *Config) { c.DSPs[1].Endpoint = "/bid/bravo" }, []string{`dsps[1].endpoint: must be an absolute http:// or https:// URL, got "/bid/bravo"`}},
		{"zero DSP timeout", func(c *Config) { c.DSPs[2].Timeout = 0 }, []string{"dsps[2].timeout: must be > 0"}},
		{"DSP timeout above max tmax", func(c *Config) { c.DSPs[2].Timeout = 2 * time.Second }, []string{"dsps[2].timeout: must be <= auction.max_tmax (1s)"}},
		{"negative qps", func(c *Config) { c.DSPs[0].QPSLimit = -1 }, []string{"dsps[0].qps_limit: must be >= 0 (0: no cap)"}},
		{"zero bid adjustment", func(c *Config) { c.DSPs[0].BidAdjustment = 0 }, []string{"dsps[0].bid_adjustment: must be in (0, 10], got 0"}},
		{"aliases", func(c *Config) {
			c.DSPs[0].Aliases = []string{"alphaX", "Bravo", "gpid", "bad code", "ALPHAX"}
			c.DSPs[1].Aliases = []string{"alphax", "bravo2"}
		}, []string{
			`dsps[0].aliases[1]: "Bravo" is already taken by dsps[1].name`,
			`dsps[0].aliases[2]: "gpid" is reserved in imp.ext (prebid, data, context, gpid, tid, skadn, ae, igs, all, general)`,
			`dsps[0].aliases[3]: must match [A-Za-z0-9][A-Za-z0-9_-]* (at most 63 characters), got "bad code"`,
			`dsps[0].aliases[4]: "ALPHAX" is already taken by dsps[0].aliases[0]`,
			`dsps[1].aliases[0]: "alphax" is already taken by dsps[0].aliases[0]`,
		}},
		{"distinct aliases are valid", func(c *Config) { c.DSPs[0].Aliases = []string{"alphaMedia", "alpha_2"} }, nil},
		{"bad notice host", func(c *Config) { c.DSPs[0].NoticeHosts = []string{"ok.example", "http://x/"} }, []string{`dsps[0].notice_hosts[1]: must be a host name, an IP address or *.domain, got "http://x/"`}},
		{"bad targeting", func(c *Config) {
			c.DSPs[0].Targeting = Targeting{Formats: []string{"300x250", "big"}, Channels: []string{"web"}, Countries: []string{"US"}}
		}, []string{
			`dsps[0].targeting.formats[1]: must be WxH, banner, video, native or audio, got "big"`,
			`dsps[0].targeting.channels[0]: must be site, app or dooh, got "web"`,
			`dsps[0].targeting.countries[0]: must be an upper-case ISO 3166-1 alpha-3 code, got "US"`,
		}},
		{"bad DSP shaping overrides", func(c *Config) {
			c.DSPs[4].Mode = str("sometimes")
			c.DSPs[4].RecallTarget = ptr(1.2)
			c.DSPs[4].Threshold = ptr(-0.1)
			c.DSPs[4].ExplorationRate = ptr(0.9)
		}, []string{
			`dsps[4].mode: must be one of filter, shadow, off, got "sometimes"`,
			"dsps[4].recall_target: must be in [0.5, 1], got 1.2",
			"dsps[4].threshold: must be in [0, 1], got -0.1",
			"dsps[4].exploration_rate: must be in [0, 0.5], got 0.9",
		}},
		{"good DSP shaping overrides", func(c *Config) {
			c.DSPs[4].Mode = str(ModeShadow)
			c.DSPs[4].RecallTarget = ptr(0.5)
			c.DSPs[4].Threshold = ptr(1)
			c.DSPs[4].ExplorationRate = ptr(0.5)
		}, nil},
		{"problems in several sections at once", func(c *Config) {
			c.Listen = ""
			c.DSPs[2].Timeout = 0
			c.Shaping.RecallTarget = 2
		}, []string{
			"listen: must not be empty",
			"shaping.recall_target: must be in [0.5, 1], got 2",
			"dsps[2].timeout: must be > 0",
		}},
	}
	checkValidate(t, tests)
}

// validateCase is a change to the default configuration and the messages Validate gives.
type validateCase struct {
	name   string
	change func(c *Config)
	want   []string // exactly these messages, in order
}

func checkValidate(t *testing.T, tests []validateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			if diff := cmp.Diff(tt.want, messages(c.Validate())); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

// messages splits an errors.Join error into its messages.
func messages(err error) []string {
	if err == nil {
		return nil
	}
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
