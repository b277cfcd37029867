// Package loadtest sends open-loop load to an OpenRTB endpoint (the gateway, or the
// simulated DSPs) and measures it: requests are scheduled at a fixed rate whatever the
// server does, and each latency is measured from the request's scheduled time, not from
// when it was actually sent, so that a stalling server cannot hide its stalls
// (no coordinated omission). Traffic comes from the simulator's generator.
//
// Latencies are reported in ms (HdrHistogram, 3 significant digits), prices in CPM.
// Run uses one goroutine to generate requests, one to schedule them and one per
// request in flight; it returns when every request has finished or timed out.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
)

// Config is one load test.
type Config struct {
	Targets  []string      // URLs to POST bid requests to, in turn
	QPS      float64       // requests scheduled per second
	Duration time.Duration // how long to schedule requests
	Traffic  sim.Traffic   // the publisher traffic to draw requests from
	Seed     uint64        // draws the requests
	// Timeout bounds each request, from its scheduled time; 2 s when 0.
	Timeout time.Duration
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
	Timeouts    int64         `json:"timeouts"`        // no answer within Timeout
	Failures    int64         `json:"failures"`        // other transport errors (connection refused, reset, ...)
	Status      map[int]int64 `json:"status"`          // answers by HTTP status
	BidResps    int64         `json:"bid_responses"`   // 200 answers with at least one bid
	Bids        int64         `json:"bids"`            // bids in the answers
	BidCPMSum   float64       `json:"bid_cpm_sum"`     // sum of their prices
	AchievedQPS float64       `json:"achieved_qps"`    // answers per second of the scheduling period
	MaxLagMS    float64       `json:"max_send_lag_ms"` // worst delay between a request's schedule and its sending
	Latency     Latency       `json:"latency_ms"`      // from the scheduled time to the end of the answer, answered requests
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
	total := int64(math.Round(cfg.QPS * cfg.Duration.Seconds()))
	interval := float64(time.Second) / cfg.QPS

	// Bodies are generated ahead of the schedule, off the scheduling goroutine.
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	// The generator is built, and the first bodies made, before the clock starts.
	gen := traffic.New(cfg.Traffic, cfg.Seed)
	next := func() []byte {
		body, err := json.Marshal(gen.Next())
		if err != nil {
			panic(err) // a generated request always encodes
		}
		return body
	}
	bodies := make(chan []byte, 4096)
	ahead := min(total, int64(cap(bodies)/2))
	for range ahead {
		if ctx.Err() != nil {
			return &Result{Targets: cfg.Targets, QPS: cfg.QPS, Duration: cfg.Duration, Status: map[int]int64{}}, ctx.Err()
		}
		bodies <- next()
	}
	go func() {
		defer close(bodies)
		for range total - ahead {
			body := next()
			select {
			case bodies <- body:
			case <-genCtx.Done():
				return
			}
		}
	}()

	m := newMeter()
	res := &Result{Targets: cfg.Targets, QPS: cfg.QPS, Duration: cfg.Duration}
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	start := time.Now()
	var maxLag time.Duration
	var err error
schedule:
	for i := range total {
		due := start.Add(time.Duration(float64(i) * interval))
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				err = ctx.Err()
				break schedule
			}
		} else if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		var body []byte
		select {
		case body = <-bodies:
		case <-ctx.Done():
			err = ctx.Err()
			break schedule
		}
		res.Scheduled++
		if inFlight.Load() >= int64(cfg.MaxInFlight) {
			res.Dropped++
			continue
		}
		if lag := time.Since(due); lag > maxLag {
			maxLag = lag
		}
		res.Sent++
		inFlight.Add(1)
		wg.Add(1)
		target := cfg.Targets[i%int64(len(cfg.Targets))]
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			m.do(client, target, body, due, cfg.Timeout)
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.MaxLagMS = ms(maxLag)
	m.fill(res)
	if res.Duration > 0 {
		res.AchievedQPS = float64(res.Answered) / min(res.Elapsed, res.Duration).Seconds()
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

// meter accumulates the answers; safe for concurrent use.
type meter struct {
	mu        sync.Mutex
	hist      *hdrhistogram.Histogram // µs
	status    map[int]int64
	answered  int64
	timeouts  int64
	failures  int64
	bidResps  int64
	bids      int64
	bidCPMSum float64
}

func newMeter() *meter {
	return &meter{hist: hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3), status: map[int]int64{}}
}

// bidResponse is the part of a BidResponse the meter reads.
type bidResponse struct {
	SeatBid []struct {
		Bid []struct {
			Price float64 `json:"price"`
		} `json:"bid"`
	} `json:"seatbid"`
}

func (m *meter) do(client *http.Client, target string, body []byte, due time.Time, timeout time.Duration) {
	ctx, cancel := context.WithDeadline(context.Background(), due.Add(timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		m.fail(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Openrtb-Version", "2.5")
	resp, err := client.Do(req)
	if err != nil {
		m.fail(err)
		return
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // read to the end: the connection is reused
	if err != nil {
		m.fail(err)
		return
	}
	lat := time.Since(due)
	var n int64
	var sum float64
	if resp.StatusCode == http.StatusOK && len(data) > 0 {
		var br bidResponse
		if json.Unmarshal(data, &br) == nil {
			for _, sb := range br.SeatBid {
				for _, b := range sb.Bid {
					n++
					sum += b.Price
				}
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answered++
	m.status[resp.StatusCode]++
	_ = m.hist.RecordValue(max(1, lat.Microseconds()))
	if n > 0 {
		m.bidResps++
		m.bids += n
		m.bidCPMSum += sum
	}
}

func (m *meter) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		m.timeouts++
	} else {
		m.failures++
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (m *meter) fill(r *Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Answered, r.Timeouts, r.Failures = m.answered, m.timeouts, m.failures
	r.Status = m.status
	r.BidResps, r.Bids, r.BidCPMSum = m.bidResps, m.bids, m.bidCPMSum
	h := m.hist
	if h.TotalCount() == 0 {
		return
	}
	us := func(v int64) float64 { return float64(v) / 1000 }
	r.Latency = Latency{
		P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)), P99: us(h.ValueAtQuantile(99)),
		P999: us(h.ValueAtQuantile(99.9)), Max: us(h.Max()), Mean: h.Mean() / 1000,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Print writes a human summary of r.
func (r *Result) Print(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scheduled %d requests at %.0f/s for %v to %d target(s); elapsed %v\n",
		r.Scheduled, r.QPS, r.Duration, len(r.Targets), r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "sent %d, dropped %d (in-flight cap), answered %d (%.0f/s), timeouts %d, failures %d, worst send lag %.1f ms\n",
		r.Sent, r.Dropped, r.Answered, r.AchievedQPS, r.Timeouts, r.Failures, r.MaxLagMS)
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	b.WriteString("status:")
	for _, c := range codes {
		fmt.Fprintf(&b, " %d=%d", c, r.Status[c])
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "bids %d in %d responses, %.2f CPM on average\n", r.Bids, r.BidResps, safeDiv(r.BidCPMSum, float64(r.Bids)))
	l := r.Latency
	fmt.Fprintf(&b, "latency ms (from schedule): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	_, err := io.WriteString(w, b.String())
	return err
}

func safeDiv(x, y float64) float64 {
	if y == 0 {
		return 0
	}
	return x / y
}
