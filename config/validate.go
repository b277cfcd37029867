package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Limits of the run-time controls (the admin API accepts the same ranges).
const (
	MinRecallTarget    = 0.5
	MaxRecallTarget    = 1.0
	MaxExplorationRate = 0.5
	MaxBidAdjustment   = 10.0
)

var (
	dspNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	aliasRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	formatRE   = regexp.MustCompile(`^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$`)
	countryRE  = regexp.MustCompile(`^[A-Z]{3}$`)
	topicRE    = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
	hostRE     = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.:_-]*[A-Za-z0-9\]])?$|^\[[0-9a-fA-F:.]+\]$`)
)

// Validate checks the whole configuration and returns every problem at once
// (errors.Join), each naming its key, as in "dsps[2].timeout: must be > 0".
func (c *Config) Validate() error {
	var v validator
	v.listen("listen", c.Listen, true)
	v.listen("admin_listen", c.AdminListen, false)
	if c.AdminListen != "" && c.AdminListen == c.Listen {
		v.add("admin_listen", "must differ from listen")
	}
	if c.AdminTrendEvery < 0 {
		v.add("admin_trend_every", "must be >= 0 (0 records no trend)")
	}
	if c.ShutdownTimeout != 0 {
		v.add("shutdown_timeout", "renamed server.drain_timeout (from the signal to the exit); set that instead")
	}
	if c.Server.DrainDelay < 0 {
		v.add("server.drain_delay", "must be >= 0")
	}
	v.positive("server.drain_timeout", c.Server.DrainTimeout)
	if c.Server.DrainDelay >= 0 && c.Server.DrainTimeout > 0 && c.Server.DrainDelay >= c.Server.DrainTimeout {
		v.add("server.drain_delay", "must be < server.drain_timeout (%s): the delay is part of it", c.Server.DrainTimeout)
	}

	a := c.Auction
	v.positive("auction.default_tmax", a.DefaultTMax)
	v.positive("auction.max_tmax", a.MaxTMax)
	if a.DefaultTMax > a.MaxTMax && a.MaxTMax > 0 {
		v.add("auction.default_tmax", "must be <= auction.max_tmax (%s)", a.MaxTMax)
	}
	if a.SafetyMargin < 0 {
		v.add("auction.safety_margin", "must be >= 0")
	} else if a.DefaultTMax > 0 && a.SafetyMargin >= a.DefaultTMax {
		v.add("auction.safety_margin", "must be < auction.default_tmax (%s)", a.DefaultTMax)
	}
	if a.MaxBodyBytes <= 0 {
		v.add("auction.max_body_bytes", "must be > 0")
	}
	v.oneOf("auction.nobid", a.NoBid, NoBidAuto, NoBid204, NoBid200)
	for i, o := range c.CORS.AllowedOrigins {
		if !validOrigin(o) {
			v.add(fmt.Sprintf("cors.allowed_origins[%d]", i), "must be an origin, scheme://host[:port] (no path), got %q", o)
		}
	}

	if !currencyRE.MatchString(c.Currency.Base) {
		v.add("currency.base", "must be a 3-letter upper-case ISO 4217 code, got %q", c.Currency.Base)
	}
	for _, code := range slices.Sorted(maps.Keys(c.Currency.Rates)) {
		rate, key := c.Currency.Rates[code], "currency.rates."+code
		switch {
		case !currencyRE.MatchString(code):
			v.add(key, "must be a 3-letter upper-case ISO 4217 code")
		case !(rate > 0) || math.IsInf(rate, 0):
			v.add(key, "must be > 0 (the value of 1 %s in %s)", code, c.Currency.Base)
		case code == c.Currency.Base && rate != 1:
			v.add(key, "the base currency's rate must be 1")
		}
	}

	v.privacy(c)
	v.shaping("shaping", c.Shaping.Mode, c.Shaping.RecallTarget, c.Shaping.ExplorationRate)
	if c.Shaping.OnDrift != "" { // "": alert
		v.oneOf("shaping.on_drift", c.Shaping.OnDrift, DriftAlert, DriftShadow)
	}
	if c.Shaping.DriftAfter < 0 {
		v.add("shaping.drift_after", "must be >= 0 (0: no drift guard), got %s", c.Shaping.DriftAfter)
	}

	if c.Model.MaxAge < 0 {
		v.add("model.max_age", "must be >= 0 (0: no limit)")
	}
	if !(c.Retrain.Tolerance >= 0 && c.Retrain.Tolerance <= 1) {
		v.add("retrain.tolerance", "must be in [0, 1] (a share of traffic), got %v", c.Retrain.Tolerance)
	}
	if c.Retrain.MinBids < 0 {
		v.add("retrain.min_bids", "must be >= 0")
	}
	if c.BidLog.RollInterval < time.Second {
		v.add("bidlog.roll_interval", "must be >= 1s, got %s", c.BidLog.RollInterval)
	}
	if c.BidLog.Queue <= 0 {
		v.add("bidlog.queue", "must be > 0")
	}
	if c.BidLog.MaxFileBytes < 1<<20 {
		v.add("bidlog.max_file_bytes", "must be >= 1048576 (1 MiB)")
	}
	v.kafka(&c.BidLog.Kafka)

	if c.Store.SQLite != "" && c.Store.Postgres != "" {
		v.add("store", "set sqlite or postgres, not both")
	}
	if c.Store.Postgres != "" {
		if u, err := url.Parse(c.Store.Postgres); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			v.add("store.postgres", "must be a postgres:// URL")
		}
	}

	tokenNames := map[string]int{}
	for i, t := range c.Auth.Tokens {
		p := fmt.Sprintf("auth.tokens[%d]", i)
		if t.Name == "" {
			v.add(p+".name", "must not be empty")
		} else if j, dup := tokenNames[t.Name]; dup {
			v.add(p+".name", "duplicate of auth.tokens[%d]", j)
		} else {
			tokenNames[t.Name] = i
		}
		if !slices.Contains([]string{RoleViewer, RoleManager, RoleAdmin}, t.Role) {
			v.add(p+".role", "must be viewer, manager or admin, got %q", t.Role)
		}
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != 32 {
			v.add(p+".sha256", "must be 64 hex digits (the SHA-256 of the token)")
		}
	}

	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
	v.tracing(&c.Tracing)

	o := c.Overload
	if o.MaxInflight < -1 {
		v.add("overload.max_inflight", "must be >= 0 (0: 1024 per core), or -1 for no cap")
	}
	if o.MaxWait < 0 {
		v.add("overload.max_wait", "must be >= 0 (0: never shed on the wait)")
	}
	if o.RetryAfter < time.Second || o.RetryAfter%time.Second != 0 {
		v.add("overload.retry_after", "must be whole seconds, at least 1s (Retry-After counts seconds)")
	}
	if c.Fanout.MaxResponseBytes <= 0 {
		v.add("fanout.max_response_bytes", "must be > 0")
	}
	if c.Fanout.MaxIdleConnsPerHost <= 0 {
		v.add("fanout.max_idle_conns_per_host", "must be > 0")
	}
	v.positive("fanout.dial_timeout", c.Fanout.DialTimeout)
	v.positive("fanout.idle_conn_timeout", c.Fanout.IdleConnTimeout)

	v.breaker("breaker", &c.Breaker)

	if c.Notices.Workers <= 0 {
		v.add("notices.workers", "must be > 0")
	}
	if c.Notices.Queue <= 0 {
		v.add("notices.queue", "must be > 0")
	}
	v.positive("notices.timeout", c.Notices.Timeout)

	names := map[string]int{}
	for i := range c.DSPs {
		v.dsp(i, &c.DSPs[i], c, names)
	}
	v.aliases(c.DSPs)
	return errors.Join(v.errs...)
}

// MaxTrialCalls is the most trial calls a breaker judges (breaker.trial_calls).
const MaxTrialCalls = 64

// Validate checks the breaker section alone, each problem naming its key under breaker.
func (b *Breaker) Validate() error {
	var v validator
	v.breaker("breaker", b)
	return errors.Join(v.errs...)
}

func (v *validator) breaker(p string, b *Breaker) {
	if b.Window < time.Second {
		v.add(p+".window", "must be >= 1s, got %s", b.Window)
	}
	if b.MinCalls < 1 {
		v.add(p+".min_calls", "must be >= 1, got %d", b.MinCalls)
	}
	v.share(p+".failure_ratio", b.FailureRatio, true)
	v.share(p+".trial_share", b.TrialShare, false)
	if b.TrialCalls < 1 || b.TrialCalls > MaxTrialCalls {
		v.add(p+".trial_calls", "must be in [1, %d], got %d", MaxTrialCalls, b.TrialCalls)
	}
	v.share(p+".close_ratio", b.CloseRatio, true)
	if b.LagTolerance < 0 {
		v.add(p+".lag_tolerance", "must be >= 0, got %s", b.LagTolerance)
	}
	v.share(p+".rate_decrease", b.RateDecrease, false)
	v.share(p+".rate_floor", b.RateFloor, true)
	if !(b.RateRecovery > 0) || math.IsInf(b.RateRecovery, 0) {
		v.add(p+".rate_recovery", "must be > 0 (send share regained per second), got %g", b.RateRecovery)
	}
	if b.MaxRetryAfter < 0 {
		v.add(p+".max_retry_after", "must be >= 0 (0 ignores Retry-After), got %s", b.MaxRetryAfter)
	}
}

// share checks that x is in (0, 1), or (0, 1] when one is allowed: a share that is never 0.
func (v *validator) share(key string, x float64, one bool) {
	if x > 0 && (x < 1 || one && x == 1) {
		return
	}
	hi := ")"
	if one {
		hi = "]"
	}
	v.add(key, "must be in (0, 1%s, got %g", hi, x)
}

type validator struct{ errs []error }

func (v *validator) tracing(t *Tracing) {
	v.oneOf("tracing.exporter", t.Exporter, TracingNone, TracingStdout, TracingOTLP)
	v.unit("tracing.sample_ratio", t.SampleRatio, 0, 1)
	if t.Exporter == TracingOTLP {
		if t.Endpoint == "" {
			v.add("tracing.endpoint", "must be set for the otlp exporter (the collector's OTLP/HTTP URL, http://HOST:4318/v1/traces)")
		} else if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("tracing.endpoint", "must be an http:// or https:// URL, got %q", t.Endpoint)
		}
	} else if t.Endpoint != "" || len(t.Headers) > 0 {
		v.add("tracing.endpoint", "endpoint and headers apply to the otlp exporter only (exporter is %q)", t.Exporter)
	}
	for k := range t.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			v.add("tracing.headers", "invalid header name %q", k)
		}
	}
	if t.ServiceName == "" {
		v.add("tracing.service_name", "must not be empty")
	}
}

func (v *validator) kafka(k *Kafka) {
	if !k.Enabled() {
		return
	}
	const p = "bidlog.kafka."
	for i, b := range k.Brokers {
		if host, port, err := net.SplitHostPort(b); err != nil || host == "" || port == "" {
			v.add(fmt.Sprintf("%sbrokers[%d]", p, i), "must be host:port, got %q", b)
		}
	}
	if k.Topic == "" {
		v.add(p+"topic", "must be set when brokers are")
	} else if !topicRE.MatchString(k.Topic) || k.Topic == "." || k.Topic == ".." {
		v.add(p+"topic", "%q is not a Kafka topic name (at most 249 of [a-zA-Z0-9._-])", k.Topic)
	}
	v.oneOf(p+"compression", k.Compression, CompressionZstd, CompressionLZ4, CompressionSnappy, CompressionGzip, CompressionNone)
	if k.Linger < 0 || k.Linger > time.Second {
		v.add(p+"linger", "must be in [0, 1s], got %s", k.Linger)
	}
	if k.MaxBufferedRecords < 1000 {
		v.add(p+"max_buffered_records", "must be >= 1000, got %d", k.MaxBufferedRecords)
	}
	if k.MaxBufferedBytes < 1<<20 {
		v.add(p+"max_buffered_bytes", "must be >= 1048576 (1 MiB), got %d", k.MaxBufferedBytes)
	}
	if k.DeliveryTimeout < 0 {
		v.add(p+"delivery_timeout", "must be >= 0 (0: retry until the buffer fills)")
	}
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "must be > 0")
	}
}

func (v *validator) unit(key string, x, lo, hi float64) {
	if !(x >= lo && x <= hi) {
		v.add(key, "must be in [%g, %g], got %g", lo, hi, x)
	}
}

func (v *validator) oneOf(key, got string, allowed ...string) {
	if !slices.Contains(allowed, got) {
		v.add(key, "must be one of %s, got %q", strings.Join(allowed, ", "), got)
	}
}

func (v *validator) listen(key, addr string, required bool) {
	if addr == "" {
		if required {
			v.add(key, "must not be empty")
		}
		return
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		v.add(key, "must be host:port or :port, got %q", addr)
	}
}

func (v *validator) shaping(prefix, mode string, recall, exploration float64) {
	v.oneOf(prefix+".mode", mode, ModeFilter, ModeShadow, ModeOff)
	v.unit(prefix+".recall_target", recall, MinRecallTarget, MaxRecallTarget)
	v.unit(prefix+".exploration_rate", exploration, 0, MaxExplorationRate)
}

func (v *validator) dsp(i int, d *DSP, c *Config, names map[string]int) {
	p := fmt.Sprintf("dsps[%d]", i)
	switch {
	case !dspNameRE.MatchString(d.Name):
		v.add(p+".name", "must match [a-z0-9][a-z0-9_-]* (at most 63 characters), got %q", d.Name)
	default:
		if j, dup := names[d.Name]; dup {
			v.add(p+".name", "duplicate of dsps[%d] (%s)", j, d.Name)
		} else {
			names[d.Name] = i
		}
	}
	if u, err := url.Parse(d.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(p+".endpoint", "must be an absolute http:// or https:// URL, got %q", d.Endpoint)
	}
	v.positive(p+".timeout", d.Timeout)
	if d.Timeout > c.Auction.MaxTMax && c.Auction.MaxTMax > 0 {
		v.add(p+".timeout", "must be <= auction.max_tmax (%s)", c.Auction.MaxTMax)
	}
	if d.QPSLimit < 0 {
		v.add(p+".qps_limit", "must be >= 0 (0: no cap)")
	}
	if !(d.BidAdjustment > 0 && d.BidAdjustment <= MaxBidAdjustment) {
		v.add(p+".bid_adjustment", "must be in (0, %g], got %g", MaxBidAdjustment, d.BidAdjustment)
	}
	for j, h := range d.NoticeHosts {
		if !hostRE.MatchString(h) {
			v.add(fmt.Sprintf("%s.notice_hosts[%d]", p, j), "must be a host name, an IP address or *.domain, got %q", h)
		}
	}
	for j, f := range d.Targeting.Formats {
		if !formatRE.MatchString(f) && !slices.Contains([]string{"banner", "video", "native", "audio"}, f) {
			v.add(fmt.Sprintf("%s.targeting.formats[%d]", p, j), "must be WxH, banner, video, native or audio, got %q", f)
		}
	}
	for j, ch := range d.Targeting.Channels {
		if !slices.Contains([]string{"site", "app", "dooh"}, ch) {
			v.add(fmt.Sprintf("%s.targeting.channels[%d]", p, j), "must be site, app or dooh, got %q", ch)
		}
	}
	for j, co := range d.Targeting.Countries {
		if !countryRE.MatchString(co) {
			v.add(fmt.Sprintf("%s.targeting.countries[%d]", p, j), "must be an upper-case ISO 3166-1 alpha-3 code, got %q", co)
		}
	}
	v.dspPrivacy(p, d)
	if d.Mode != nil {
		v.oneOf(p+".mode", *d.Mode, ModeFilter, ModeShadow, ModeOff)
	}
	if d.RecallTarget != nil {
		v.unit(p+".recall_target", *d.RecallTarget, MinRecallTarget, MaxRecallTarget)
	}
	if d.Threshold != nil {
		v.unit(p+".threshold", *d.Threshold, 0, 1)
	}
	if d.ExplorationRate != nil {
		v.unit(p+".exploration_rate", *d.ExplorationRate, 0, MaxExplorationRate)
	}
}

// validOrigin reports whether s is a web origin as browsers send it in Origin:
// http or https, a host, an optional port, nothing after.
func validOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "#")
}

// ReservedImpExtKeys are the keys of imp.ext that are never a bidder's name (Prebid
// Server's list: openrtb_ext.IsPotentialBidder): the legacy bidder list, imp.ext.{code},
// is every other key that names a DSP. No alias may be one of them.
var ReservedImpExtKeys = []string{"prebid", "data", "context", "gpid", "tid", "skadn", "ae", "igs", "all", "general"}

// IsReservedImpExtKey reports whether k is one of ReservedImpExtKeys (case-insensitively).
func IsReservedImpExtKey(k string) bool {
	for _, r := range ReservedImpExtKeys {
		if strings.EqualFold(k, r) {
			return true
		}
	}
	return false
}

// aliases checks every DSP's aliases: well formed, not reserved, and unique across the
// DSPs' names and aliases without regard to case.
func (v *validator) aliases(dsps []DSP) {
	owner := map[string]string{} // lower-case code -> "dsps[i].name" or "dsps[i].aliases[j]"
	for i := range dsps {
		owner[strings.ToLower(dsps[i].Name)] = fmt.Sprintf("dsps[%d].name", i)
	}
	for i := range dsps {
		for j, a := range dsps[i].Aliases {
			key := fmt.Sprintf("dsps[%d].aliases[%d]", i, j)
			switch low := strings.ToLower(a); {
			case !aliasRE.MatchString(a):
				v.add(key, "must match [A-Za-z0-9][A-Za-z0-9_-]* (at most 63 characters), got %q", a)
			case IsReservedImpExtKey(a):
				v.add(key, "%q is reserved in imp.ext (%s)", a, strings.Join(ReservedImpExtKeys, ", "))
			case owner[low] != "":
				v.add(key, "%q is already taken by %s", a, owner[low])
			default:
				owner[low] = key
			}
		}
	}
}
