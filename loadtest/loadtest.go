// Package loadtest sends open-loop load to an OpenRTB endpoint (the gateway, or the
// simulated DSPs) and measures it: requests are scheduled at a fixed rate whatever the
// server does, and each latency is measured from the request's scheduled time, not from
// when it was actually sent, so that a stalling server cannot hide its stalls
// (no coordinated omission). Requests come from a Source: the simulator's generator
// (Profiles) or a folder of OpenRTB files (Corpus).
//
// Run is one run at one rate; it can read the gateway's /metrics and dsp-sim's /stats
// before and after and report the deltas (scrape.go). Ramp steps the rate up to the
// highest one that holds a latency and a revenue criterion (ramp.go); Compare runs the
// same seeded traffic against two gateways (compare.go). Latencies are reported in ms
// (HdrHistogram, 3 significant digits), prices in CPM and revenue in micros.
// Run uses one goroutine to make requests, one to schedule them, one per request in
// flight and one for progress; it returns when every request has finished or timed out.
package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
)

// Config is one load test.
type Config struct {
	Targets  []string      // URLs to POST bid requests to, in turn
	QPS      float64       // requests scheduled per second
	Duration time.Duration // how long to schedule requests
	// Source makes the requests; Profiles{Traffic} when nil.
	Source  Source
	Traffic sim.Traffic // the publisher traffic to draw requests from when Source is nil
	Seed    uint64      // draws the requests
	// Timeout bounds each request, from its scheduled time; 2 s when 0.
	Timeout time.Duration
	// LatencyBound is the latency past which an accepted answer counts as late (Late);
	// the request's tmax when 0 (Timeout for a request without one).
	LatencyBound time.Duration
	// MaxInFlight caps the requests in flight: a request scheduled beyond it is not sent
	// and counts as dropped (the load generator's own limit, reported, never hidden).
	// 10,000 when 0.
	MaxInFlight int
	// Connections caps the connections per target host of the default client (requests
	// beyond wait for one, and the wait counts in their latency); 1,000 when 0. It keeps
	// an overloaded server from being hit by a storm of new connections.
	Connections int
	// Client sends the requests; a client with a transport tuned for many connections
	// to one host when nil.
	Client *http.Client
	// Metrics is the gateway's /metrics URL and DSPStats dsp-sim's /stats URL, read
	// before and after the run when set (Result.Gateway, Result.DSPSim).
	Metrics, DSPStats string
	// Progress, when set, is called with the requests scheduled so far and the total,
	// every 200 ms and once at the end, from a goroutine of its own.
	Progress func(done, total int64)
}

// Latency holds latency percentiles in ms.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Result is what a load test measured.
type Result struct {
	Targets     []string      `json:"targets"`
	QPS         float64       `json:"qps"`             // the scheduled rate
	Duration    time.Duration `json:"-"`               // the scheduling period (duration_s in JSON)
	Elapsed     time.Duration `json:"-"`               // until the last answer (elapsed_s in JSON)
	Scheduled   int64         `json:"scheduled"`       // requests scheduled
	Sent        int64         `json:"sent"`            // requests sent
	Dropped     int64         `json:"dropped"`         // scheduled but not sent: MaxInFlight reached
	Answered    int64         `json:"answered"`        // got an HTTP status
	Shed        int64         `json:"shed"`            // answers refusing the auction for load: 503, or a no-bid with Retry-After
	Timeouts    int64         `json:"timeouts"`        // no answer within Timeout
	Failures    int64         `json:"failures"`        // other transport errors (connection refused, reset, ...)
	Late        int64         `json:"late"`            // sent, not shed, and not answered within LatencyBound (timeouts and failures included)
	Status      map[int]int64 `json:"status"`          // answers by HTTP status
	BidResps    int64         `json:"bid_responses"`   // 200 answers with at least one bid
	Bids        int64         `json:"bids"`            // bids in the answers
	BidCPMSum   float64       `json:"bid_cpm_sum"`     // sum of their prices
	AchievedQPS float64       `json:"achieved_qps"`    // answers per second of the scheduling period
	MaxLagMS    float64       `json:"max_send_lag_ms"` // worst delay between a request's schedule and its sending
	Latency     Latency       `json:"latency_ms"`      // from the scheduled time to the end of the answer, answered requests
	// AcceptedLatency is Latency over the answers that were not shed.
	AcceptedLatency Latency `json:"accepted_latency_ms"`
	// RevenueMicros is the sum of the prices of the bids returned (the gateway returns
	// clearing prices), and Seats the bids and revenue by seat (the gateway's DSP names).
	RevenueMicros int64           `json:"revenue_micros"`
	Seats         map[string]Seat `json:"seats"`
	// Gateway and DSPSim are the deltas of the gateway's /metrics and of dsp-sim's
	// /stats over the run, when Config.Metrics and Config.DSPStats are set.
	Gateway *Gateway                      `json:"gateway,omitempty"`
	DSPSim  map[string]dspserver.DSPStats `json:"dsp_sim,omitempty"`
}

// BidShare is the share of the scheduled auctions answered with a bid.
func (r *Result) BidShare() float64 { return safeDiv(float64(r.BidResps), float64(r.Scheduled)) }

// ShedShare is the share of the scheduled auctions that were shed.
func (r *Result) ShedShare() float64 { return safeDiv(float64(r.Shed), float64(r.Scheduled)) }

// LateShare is the share of the scheduled auctions not shed that were late or dropped.
func (r *Result) LateShare() float64 {
	return safeDiv(float64(r.Late+r.Dropped), float64(r.Scheduled-r.Shed))
}

// MarshalJSON writes the result with its durations in seconds.
func (r *Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		*plain
		DurationS float64 `json:"duration_s"`
		ElapsedS  float64 `json:"elapsed_s"`
	}{(*plain)(r), r.Duration.Seconds(), r.Elapsed.Seconds()})
}

// Run runs the load test. On cancellation it stops scheduling, waits for the requests in
// flight and returns what it measured with the context's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("no target")
	}
	if cfg.QPS <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("qps and duration must be positive")
	}
	if cfg.Source == nil {
		cfg.Source = Profiles{Traffic: cfg.Traffic}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 10000
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 1000
	}
	client := cfg.Client
	if client == nil {
		client = newClient(cfg.Connections)
		defer client.CloseIdleConnections()
	}
	sc := scraper{client: client, metrics: cfg.Metrics, stats: cfg.DSPStats}
	before, err := sc.read(ctx)
	if err != nil {
		return nil, err
	}
	total := int64(math.Round(cfg.QPS * cfg.Duration.Seconds()))
	m := newMeter(cfg.LatencyBound)
	res := &Result{Targets: cfg.Targets, QPS: cfg.QPS, Duration: cfg.Duration}
	err = schedule(ctx, &cfg, client, m, res, total)
	m.fill(res)
	if res.Duration > 0 {
		res.AchievedQPS = float64(res.Answered) / min(res.Elapsed, res.Duration).Seconds()
	}
	if err == nil && (cfg.Metrics != "" || cfg.DSPStats != "") {
		err = waitUntil(ctx, time.Now().Add(settle), 0)
	}
	if err == nil {
		after, serr := sc.read(ctx)
		if serr != nil {
			return res, serr
		}
		res.Gateway, res.DSPSim = sc.deltas(before, after, res.Sent)
	}
	return res, err
}

func newClient(maxConns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // each request has its own deadline
		DisableCompression:    true,
	}}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func safeDiv(x, y float64) float64 {
	if y == 0 {
		return 0
	}
	return x / y
}
