package config

import "time"

// Config is the whole configuration. The yaml tags are the key names of docs/DESIGN.md ("Configuration").
type Config struct {
	Listen      string `yaml:"listen"`       // auction endpoint, /metrics, /healthz, /readyz
	AdminListen string `yaml:"admin_listen"` // admin API and web UI; "" disables them
	// AdminTrendEvery is how often the admin server records each DSP's live recall and
	// traffic withheld for the page's trend chart (kept 7 days, in trend.jsonl beside
	// model.path); 0 records nothing.
	AdminTrendEvery time.Duration `yaml:"admin_trend_every"`
	// ShutdownTimeout is the old name of server.drain_timeout: setting it is an error
	// that says so (the key is kept so that the message can be clear).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Server          Server        `yaml:"server"`

	Auction  Auction  `yaml:"auction"`
	Currency Currency `yaml:"currency"`
	Shaping  Shaping  `yaml:"shaping"`
	Model    Model    `yaml:"model"`
	BidLog   BidLog   `yaml:"bidlog"`
	Retrain  Retrain  `yaml:"retrain"`
	Store    Store    `yaml:"store"`
	Auth     Auth     `yaml:"auth"`
	CORS     CORS     `yaml:"cors"`
	Privacy  Privacy  `yaml:"privacy"`
	SChain   SChain   `yaml:"schain"`
	Debug    Debug    `yaml:"debug"`

	// Operator keys.
	Log      Log      `yaml:"log"`
	Tracing  Tracing  `yaml:"tracing"`
	Fanout   Fanout   `yaml:"fanout"`
	Breaker  Breaker  `yaml:"breaker"`
	Overload Overload `yaml:"overload"`
	Notices  Notices  `yaml:"notices"`

	DSPs []DSP `yaml:"dsps"`
}

// Auction holds the limits of one auction.
type Auction struct {
	DefaultTMax  time.Duration `yaml:"default_tmax"`   // deadline for a request without tmax
	MaxTMax      time.Duration `yaml:"max_tmax"`       // a request's tmax is capped at this
	SafetyMargin time.Duration `yaml:"safety_margin"`  // kept back from tmax to answer in time
	MaxBodyBytes int64         `yaml:"max_body_bytes"` // inbound body limit, after gunzip too
	// Seed seeds the auction RNG (tie-breaks): auction n of a process uses seed and n.
	// 0 draws a random seed at start.
	Seed uint64 `yaml:"seed"`
	// NoBid is the answer when nothing wins: NoBidAuto (200 with an empty seatbid for a
	// Prebid client, whose request carries ext.prebid; 204 for the others), NoBid204 or
	// NoBid200 for every client.
	NoBid string `yaml:"nobid"`
}

// No-bid answers (auction.nobid).
const (
	NoBidAuto = "auto" // 200 and an empty seatbid for Prebid clients, 204 for the others
	NoBid204  = "204"  // 204 No Content, empty body, for every client
	NoBid200  = "200"  // 200 and {"id", "seatbid": [], "cur"} for every client
)

// CORS lets browsers call the auction endpoint from publishers' pages (Prebid.js posts
// text/plain with credentials): the answer echoes the request's Origin and allows
// credentials, and preflight OPTIONS requests are answered.
type CORS struct {
	// AllowedOrigins are the page origins ("https://news.example", scheme://host[:port])
	// allowed to call; empty allows any origin, as Prebid Server does. A request from an
	// origin not listed is refused with 403.
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// Debug gates the auction's debug output: a request with test: 1 or ext.prebid.debug: true
// gets ext.debug in its answer (per DSP the decision, score and threshold, and the
// request sent and the answer received) only while Allow is set.
type Debug struct {
	Allow bool `yaml:"allow"` // false (the default) ignores requests for debug output
}

// Currency holds the base currency and the conversion rates.
type Currency struct {
	Base  string             `yaml:"base"`  // ISO 4217 code; floors and bids are converted through it
	Rates map[string]float64 `yaml:"rates"` // value of 1 unit of the currency in Base
}

// Shaping is the global traffic-shaping policy; a DSP may override parts of it.
type Shaping struct {
	Mode            string  `yaml:"mode"`             // filter, shadow or off
	RecallTarget    float64 `yaml:"recall_target"`    // share of bids kept, in [0.5, 1]
	ExplorationRate float64 `yaml:"exploration_rate"` // share of filtered requests sent anyway, in [0, 0.5]
	// Seed seeds the exploration draws: whether a request below a DSP's threshold is
	// explored is a pure function of (seed, request id, DSP), so that a run can be
	// replayed. 0 draws a random seed at start.
	Seed uint64 `yaml:"seed"`
	// OnDrift is what the drift guard does when its CUSUM over a DSP's bids (see
	// gateway/drift.go) has said for DriftAfter, under the model in force, that the DSP's
	// recall fell below its target: alert (a metric, a
	// log line, the admin page, and drift.json beside model.path for the next retrain) or
	// shadow (all that, and the DSP is sent everything, in shadow mode, until another
	// model is in force). "" is alert.
	OnDrift string `yaml:"on_drift"`
	// DriftAfter is how long the CUSUM's evidence must hold before the guard acts; 0
	// turns the guard off.
	DriftAfter time.Duration `yaml:"drift_after"`
}

// Drift guard actions (shaping.on_drift).
const (
	DriftAlert  = "alert"
	DriftShadow = "shadow"
)

// Shaping modes.
const (
	ModeFilter = "filter" // send only what the model expects to be bid on (plus exploration)
	ModeShadow = "shadow" // decide and log, but send everything
	ModeOff    = "off"    // no model: send everything
)

// Model says where the model file lives.
type Model struct {
	Path string `yaml:"path"` // "" runs without a model (every eligible DSP gets every request)
	// MaxAge is the oldest a model may be (from its training time, meta.created_at) and
	// still shape traffic; an older model fails open. 0: no limit.
	MaxAge time.Duration `yaml:"max_age"`
}

// BidLog says where the bid log goes.
type BidLog struct {
	Dir string `yaml:"dir"` // "" writes no bid log
	// RollInterval publishes the open Parquet file at least this often, so that a crash
	// loses at most this long of rows (a Parquet file is unreadable without its footer).
	RollInterval time.Duration `yaml:"roll_interval"`
	// Queue is how many auctions' rows may wait for the writer; beyond it rows are dropped
	// and counted (bidsieve_bidlog_rows_dropped_total): the auction never waits for the log.
	Queue int `yaml:"queue"`
	// MaxFileBytes rolls a file once it holds about this many bytes (before compression).
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// Kafka, when its brokers are set, sends the rows to a Kafka topic instead of the
	// Parquet files of dir (a fleet: `bidsieve bidlog-sink` writes the Parquet downstream).
	Kafka Kafka `yaml:"kafka"`
}

// Retrain holds the promotion rule of `bidsieve retrain` (docs/DESIGN.md, "retrain"); the
// gateway ignores it.
type Retrain struct {
	// Tolerance is how much less traffic a challenger may withhold than the champion, for
	// any DSP the champion filters, on the held-out day, as a share of that DSP's traffic
	// (0.02: two points); more and the challenger is refused.
	Tolerance float64 `yaml:"tolerance"`
	// MinBids is the fewest held-out-day bids a DSP needs for its figures to decide a
	// promotion: a DSP below it neither blocks one nor counts as a gain.
	MinBids int `yaml:"min_bids"`
}

// Kafka compressions (bidlog.kafka.compression).
const (
	CompressionZstd   = "zstd"
	CompressionLZ4    = "lz4"
	CompressionSnappy = "snappy"
	CompressionGzip   = "gzip"
	CompressionNone   = "none"
)

// Kafka is the bid log's Kafka producer: rows go one per record, in the encoding of
// docs/BIDLOG-WIRE.md, batched, compressed and produced idempotently with acks from all
// in-sync replicas. Records wait in a bounded buffer while the brokers are away; a row
// that finds it full is dropped and counted (bidsieve_bidlog_rows_dropped_total with
// reason buffer_full): the auction never waits for Kafka.
type Kafka struct {
	Brokers  []string `yaml:"brokers"`   // seed brokers, host:port; none: no Kafka (the files of dir)
	Topic    string   `yaml:"topic"`     // the topic, created beforehand
	ClientID string   `yaml:"client_id"` // the client id the brokers see (quotas, logs)
	// Compression of the record batches: zstd, lz4, snappy, gzip or none.
	Compression string `yaml:"compression"`
	// Linger is how long a partition's batch may wait to fill before it is sent.
	Linger time.Duration `yaml:"linger"`
	// MaxBufferedRecords and MaxBufferedBytes bound the records waiting to be acknowledged
	// (the memory the producer holds while the brokers are away); beyond either, rows are
	// dropped.
	MaxBufferedRecords int   `yaml:"max_buffered_records"`
	MaxBufferedBytes   int64 `yaml:"max_buffered_bytes"`
	// DeliveryTimeout gives up on a record not acknowledged this long after it was
	// buffered (dropped, reason failed); 0: retry until the buffer fills.
	DeliveryTimeout time.Duration `yaml:"delivery_timeout"`
}

// Enabled reports whether the bid log goes to Kafka.
func (k *Kafka) Enabled() bool { return len(k.Brokers) > 0 }

// Store is the settings-and-audit store: at most one of the two.
type Store struct {
	SQLite   string `yaml:"sqlite"`   // file path
	Postgres string `yaml:"postgres"` // connection URL
}

// Auth holds the admin API's bearer tokens.
type Auth struct {
	Tokens []Token `yaml:"tokens"`
}

// Token is one bearer token, stored as the hex SHA-256 of the secret.
type Token struct {
	Name   string `yaml:"name"`
	Role   string `yaml:"role"` // viewer, manager or admin
	SHA256 string `yaml:"sha256"`
}

// Admin roles, weakest first.
const (
	RoleViewer  = "viewer"
	RoleManager = "manager"
	RoleAdmin   = "admin"
)

// Server configures the gateway's graceful stop (drain) on SIGTERM or SIGINT: /readyz
// answers 503 at once and the auction endpoint keeps serving for DrainDelay, so that load
// balancers take the replica out before its listener closes; then in-flight auctions
// finish, pending notices are fired and the bid log is flushed, all by DrainTimeout after
// the signal (Kubernetes' terminationGracePeriodSeconds should be at least that).
type Server struct {
	DrainDelay   time.Duration `yaml:"drain_delay"`   // keep serving, not ready, this long; 0: stop at once
	DrainTimeout time.Duration `yaml:"drain_timeout"` // from the signal to the exit, drain delay included
}

// Log configures the process logger (log/slog).
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // text or json
}

// Tracing configures OpenTelemetry traces: a span per auction, a child per DSP call.
type Tracing struct {
	Exporter string `yaml:"exporter"` // none, stdout or otlp
	// Endpoint is the collector's OTLP/HTTP traces URL (otlp only), such as
	// http://otel-collector:4318/v1/traces; http:// sends in clear, https:// over TLS.
	Endpoint string `yaml:"endpoint"`
	// Headers are sent with every export (otlp only): an API key, a tenant.
	Headers map[string]string `yaml:"headers"`
	// SampleRatio is the share of auctions traced, in [0, 1], when the caller sent no
	// trace context; an auction whose caller sampled (traceparent) follows its caller.
	SampleRatio float64 `yaml:"sample_ratio"`
	// ServiceName is the resource's service.name; service.version is the binary's.
	ServiceName string `yaml:"service_name"`
	// Replica is the resource's service.instance.id, naming the replica whose spans these
	// are; "" takes the host name (a pod's name under Kubernetes).
	Replica string `yaml:"replica"`
}

// Tracing exporters (tracing.exporter).
const (
	TracingNone   = "none"
	TracingStdout = "stdout"
	TracingOTLP   = "otlp"
)

// Overload is the gateway's edge control: an auction it cannot serve in time is refused at
// once, before any decision, with 503 and Retry-After (or a no-bid carrying Retry-After
// for Prebid clients), so that the auctions it accepts keep their deadlines and the DSPs
// see no timeouts of the gateway's making.
type Overload struct {
	// MaxInflight caps the auctions being served at once (from the body read to the
	// answer); 0 takes 1024 per core (GOMAXPROCS); -1 removes the cap.
	MaxInflight int `yaml:"max_inflight"`
	// MaxWait is the longest the gateway's goroutines may wait for a core (the p99 of the
	// Go scheduler's waits, sampled every 10ms) before the auctions admitted a second are
	// limited and the rest shed (gateway/shedcontrol.go); 0 never sheds on the wait.
	MaxWait time.Duration `yaml:"max_wait"`
	// RetryAfter is the Retry-After of a shed auction, whole seconds (>= 1s).
	RetryAfter time.Duration `yaml:"retry_after"`
}

// Fanout tunes the calls to DSPs: one shared HTTP transport.
type Fanout struct {
	MaxResponseBytes    int64         `yaml:"max_response_bytes"` // a larger DSP answer is dropped
	MaxIdleConnsPerHost int           `yaml:"max_idle_conns_per_host"`
	DialTimeout         time.Duration `yaml:"dial_timeout"`
	IdleConnTimeout     time.Duration `yaml:"idle_conn_timeout"`
}

// Breaker configures the circuit breaker and the 429 back-off of each DSP (package
// dsp/health, which documents them): the breaker opens on the failure ratio over a sliding
// window with a minimum number of calls, keeps sending a trial share while open and closes
// on that share's success ratio; timeouts the gateway caused are not counted; a 429 lowers
// the send share (AIMD) and its Retry-After is honoured. The keys of the former
// consecutive-failure breaker are refused with their replacements (removed.go).
type Breaker struct {
	Window       time.Duration `yaml:"window"`        // the sliding window judged, in 10 buckets
	MinCalls     int           `yaml:"min_calls"`     // counted calls in the window before it may open
	FailureRatio float64       `yaml:"failure_ratio"` // opens when failures/calls in the window reach it, in (0, 1]
	TrialShare   float64       `yaml:"trial_share"`   // share of the traffic still sent while open, in (0, 1)
	TrialCalls   int           `yaml:"trial_calls"`   // the latest trial calls judged, in [1, 64]
	CloseRatio   float64       `yaml:"close_ratio"`   // closes when that share of them succeeded, in (0, 1]
	// LagTolerance is how late the gateway may be (in sending a call, in giving it its
	// timeout, in seeing its deadline pass) before a timeout is the gateway's, not the DSP's.
	LagTolerance  time.Duration `yaml:"lag_tolerance"`
	RateDecrease  float64       `yaml:"rate_decrease"`   // a 429 multiplies the send share by this, in (0, 1)
	RateFloor     float64       `yaml:"rate_floor"`      // the send share a 429 never lowers below, in (0, 1]
	RateRecovery  float64       `yaml:"rate_recovery"`   // send share regained per second after a 429, > 0
	MaxRetryAfter time.Duration `yaml:"max_retry_after"` // the longest Retry-After honoured; 0 ignores Retry-After
}

// Notices configures the win/loss notice workers.
type Notices struct {
	Workers int           `yaml:"workers"` // concurrent notice calls
	Queue   int           `yaml:"queue"`   // pending notices; beyond it new ones are dropped and counted
	Timeout time.Duration `yaml:"timeout"` // per notice call
}

// DSP is one demand partner.
type DSP struct {
	Name string `yaml:"name"` // [a-z0-9_-]+, used in URLs and metric labels
	// Aliases are other bidder codes publishers may name the DSP by in an imp's bidder list
	// (imp.ext.prebid.bidder, or the legacy imp.ext.{code}); unique across DSPs and names,
	// compared without regard to case.
	Aliases       []string      `yaml:"aliases"`
	Endpoint      string        `yaml:"endpoint"`
	Enabled       bool          `yaml:"enabled"`        // default true
	Timeout       time.Duration `yaml:"timeout"`        // per call, inside the auction deadline
	QPSLimit      int           `yaml:"qps_limit"`      // 0: no cap
	BidAdjustment float64       `yaml:"bid_adjustment"` // multiplies its prices before ranking; default 1
	NoticeHosts   []string      `yaml:"notice_hosts"`   // hosts its nurl/lurl may reach; "*.example.com" allowed
	Targeting     Targeting     `yaml:"targeting"`

	// Privacy (package privacy). GVLID is the DSP's IAB Global Vendor List id, 0 for none
	// (withheld whenever GDPR applies). ThirdParty (default true) marks a DSP that a US
	// sale/share opt-out (GPP, us_privacy) applies to; false only for a contracted service
	// provider. ORTB is where it reads regs, consent and schain: "", "2.5" or "2.6".
	GVLID      int    `yaml:"gvl_id"`
	ThirdParty bool   `yaml:"third_party"`
	ORTB       string `yaml:"ortb"`

	// Shaping overrides; nil inherits the global shaping section. Threshold, when set,
	// replaces the model's threshold for the recall target.
	Mode            *string  `yaml:"mode,omitempty"`
	RecallTarget    *float64 `yaml:"recall_target,omitempty"`
	Threshold       *float64 `yaml:"threshold,omitempty"`
	ExplorationRate *float64 `yaml:"exploration_rate,omitempty"`
}

// Targeting is a DSP's static targeting; an empty list matches everything.
type Targeting struct {
	Formats   []string `yaml:"formats"`   // "300x250", banner, video, native, audio
	Channels  []string `yaml:"channels"`  // site, app, dooh
	Countries []string `yaml:"countries"` // ISO 3166-1 alpha-3, upper case
}

// DSPShaping is the shaping policy in force for one DSP: the global section with the DSP's
// overrides applied.
type DSPShaping struct {
	Mode            string
	RecallTarget    float64
	Threshold       *float64 // nil: the model's threshold for RecallTarget
	ExplorationRate float64
}

// ShapingFor returns the DSP's shaping policy given the global one.
func (d *DSP) ShapingFor(global Shaping) DSPShaping {
	s := DSPShaping{Mode: global.Mode, RecallTarget: global.RecallTarget, ExplorationRate: global.ExplorationRate}
	if d.Mode != nil {
		s.Mode = *d.Mode
	}
	if d.RecallTarget != nil {
		s.RecallTarget = *d.RecallTarget
	}
	if d.Threshold != nil {
		t := *d.Threshold
		s.Threshold = &t
	}
	if d.ExplorationRate != nil {
		s.ExplorationRate = *d.ExplorationRate
	}
	return s
}

// DSP returns the DSP with the given name, or nil.
func (c *Config) DSP(name string) *DSP {
	for i := range c.DSPs {
		if c.DSPs[i].Name == name {
			return &c.DSPs[i]
		}
	}
	return nil
}
