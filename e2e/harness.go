package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Config is one end-to-end comparison: the same requests through the gateway once per
// shaping mode, against the same simulated DSPs.
type Config struct {
	Profiles *sim.Profiles
	// Model scores the requests (filter and shadow modes); off never asks it.
	Model gateway.Model
	// Requests are the bid requests, sent in this order in every run (Traffic draws them).
	Requests []*openrtb2.BidRequest
	// Phases are the simulated times at which the requests are handled: the requests are
	// split evenly over them, in order, and each phase runs on a clock that starts at its
	// time and advances with the real one (so that QPS limits work), never crossing an
	// hour within a phase of less than an hour. Every run uses the same phases.
	Phases []time.Time
	// SimSeed draws the DSPs' answers (`bidsieve dsp-sim --seed`): a pure function of the
	// seed, the DSP, the request and the imp, so every run gets the same answers.
	SimSeed uint64
	// QPS is the rate at which requests are sent (open loop), kept under the smallest QPS
	// limit of the DSPs so that no run is throttled; MaxInFlight caps the requests in
	// flight (the sender waits for a slot).
	QPS         float64
	MaxInFlight int
	// LatencyScale multiplies the simulated DSPs' latencies: 1 sleeps them for real, 0
	// answers at once (no timeouts under load: the runs then differ only by shaping).
	LatencyScale float64
	// RecallTarget, ExplorationRate and ShapingSeed are the shaping settings of every DSP.
	RecallTarget    float64
	ExplorationRate float64
	ShapingSeed     uint64
	// BidLog, when set, also receives the rows of the run of mode BidLogMode.
	BidLog     gateway.BidLogSink
	BidLogMode string
	// ModelPath and LoadModel, when set, are the gateway's model.path and model loader
	// (for ReloadModel).
	ModelPath string
	LoadModel gateway.ModelLoader
	// Alongside, when set, runs on its own goroutine while the requests are sent, with the
	// run's gateway; its context ends when the last answer is in, and Run waits for it.
	Alongside func(ctx context.Context, g *gateway.Gateway)
}

// Traffic draws n requests from the profiles' traffic with the given seed.
func Traffic(p *sim.Profiles, seed uint64, n int) []*openrtb2.BidRequest {
	g := traffic.New(p.Traffic, seed)
	out := make([]*openrtb2.BidRequest, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Hours returns the phases at the given hours of the day of day (UTC).
func Hours(day time.Time, hours ...int) []time.Time {
	d := day.UTC().Truncate(24 * time.Hour)
	out := make([]time.Time, len(hours))
	for i, h := range hours {
		out[i] = d.Add(time.Duration(h) * time.Hour)
	}
	return out
}

// Pair is what happened to one (request, DSP) pair in a run.
type Pair struct {
	Decision string // the bid log's decision
	// Sent: the decision sent the request to the DSP (sent, explored, shadow, fail_open).
	Sent bool
	// Late: it was sent, but the answer missed the deadline (or the deadline had passed
	// before the call): the run's timing, not shaping, decided its bids. Only a loaded
	// machine (or real DSP latencies) makes late pairs; Compare leaves them out.
	Late      bool
	Bids      int     // valid bids received (one per imp at most)
	Score     float64 // the request's score (0 unscored)
	Threshold float64
}

// RunResult is one run: per request (in Config.Requests order) and DSP (in profile
// order), what happened; the DSP server's own counts; the run's wall time.
type RunResult struct {
	Mode    string
	Pairs   [][]Pair // [request][dsp]; a zero Pair for a DSP not considered
	Stats   map[string]dspserver.DSPStats
	Elapsed time.Duration
	Phases  []time.Time
	// Failed counts auctions that got neither 200 nor 204.
	Failed int64
	// Rows counts the bid-log rows by model version, and Decisions by decision.
	Rows      map[string]int64
	Decisions map[string]int64
}

// Run sends cfg.Requests through a gateway in the given shaping mode, on loopback,
// against a fresh simulated DSP server, and returns what happened to every pair.
func Run(ctx context.Context, cfg *Config, mode string) (*RunResult, error) {
	if len(cfg.Phases) == 0 {
		return nil, errors.New("e2e: no phases")
	}
	clk := &clock{}
	clk.set(cfg.Phases[0])
	dspOpts := dspserver.Options{Seed: cfg.SimSeed, Now: clk.now}
	if cfg.LatencyScale <= 0 {
		dspOpts.Sleep = func(context.Context, time.Duration) {}
	} else if cfg.LatencyScale != 1 {
		scale := cfg.LatencyScale
		dspOpts.Sleep = func(ctx context.Context, d time.Duration) { dspserver.Sleep(ctx, time.Duration(float64(d)*scale)) }
	}
	dspSrv := dspserver.New(cfg.Profiles, dspOpts)
	dsps := httptest.NewUnstartedServer(dspSrv)
	dsps.Config.ReadHeaderTimeout = 5 * time.Second
	dsps.Start()
	defer dsps.Close()

	gcfg := gatewayConfig(cfg, mode, dsps.URL)
	col := newCollector(cfg, mode)
	opts := gateway.Options{BidLog: col, Now: clk.now, LoadModel: cfg.LoadModel}
	if cfg.Model != nil {
		opts.Scorer = cfg.Model
	}
	g, err := gateway.New(gcfg, opts)
	if err != nil {
		return nil, err
	}
	front := httptest.NewServer(g.Handler())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(cfg.MaxInFlight, 16), IdleConnTimeout: time.Minute}}

	res := &RunResult{Mode: mode, Phases: cfg.Phases}
	start := time.Now()
	var failed atomic.Int64
	actx, stopAlongside := context.WithCancel(ctx)
	alongside := make(chan struct{})
	go func() {
		defer close(alongside)
		if cfg.Alongside != nil {
			cfg.Alongside(actx, g)
		}
	}()
	err = drive(ctx, cfg, clk, client, front.URL+"/openrtb2/auction", &failed)
	res.Elapsed, res.Failed = time.Since(start), failed.Load()
	stopAlongside()
	<-alongside
	front.Close() // waits for the handlers: every row is logged
	client.CloseIdleConnections()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cerr := g.Close(cctx); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	res.Stats = dspSrv.Stats().DSPs
	res.Pairs, res.Rows, res.Decisions = col.pairs, col.versions, col.decisions
	return res, nil
}

// gatewayConfig is the gateway's configuration for a run: the profiles' DSPs on the DSP
// server, the shaping settings of cfg in the given mode, fixed seeds, and neither QPS caps
// nor breakers that trip on the simulated errors: both would make the runs differ by the
// timing of the requests rather than by shaping (the runs stay under the DSPs' own QPS
// limits; the caps and breakers have their own tests in package gateway). The overload
// control's wait trigger is off too: the gateway shares this process with the load and the
// simulated DSPs, so the scheduler's waits are theirs as much as its own (the in-flight cap
// stays; shedding has its own tests in package gateway and is measured with separate
// processes in docs/BENCHMARKS.md).
func gatewayConfig(cfg *Config, mode, dspURL string) *config.Config {
	c := config.Defaults()
	c.Listen, c.AdminListen = "127.0.0.1:0", ""
	c.Auction.Seed = 1
	c.Shaping = config.Shaping{Mode: mode, RecallTarget: cfg.RecallTarget, ExplorationRate: cfg.ExplorationRate, Seed: cfg.ShapingSeed}
	c.Breaker.MinCalls = 1 << 30
	c.Overload.MaxWait = 0
	c.Model.Path, c.BidLog.Dir = cfg.ModelPath, ""
	for _, d := range cfg.Profiles.DSPs {
		dc := config.DefaultDSP()
		dc.Name = d.Name
		dc.Endpoint = dspURL + "/bid/" + d.Name
		dc.NoticeHosts = []string{"127.0.0.1"}
		c.DSPs = append(c.DSPs, dc)
	}
	return c
}

// drive sends the requests, phase by phase, at cfg.QPS with at most cfg.MaxInFlight in
// flight, and waits for each phase's answers before moving the clock on.
func drive(ctx context.Context, cfg *Config, clk *clock, client *http.Client, url string, failed *atomic.Int64) error {
	inflight := make(chan struct{}, max(cfg.MaxInFlight, 1))
	n := len(cfg.Requests)
	var firstErr error
	var errOnce sync.Once
	for p, at := range cfg.Phases {
		lo, hi := p*n/len(cfg.Phases), (p+1)*n/len(cfg.Phases)
		clk.set(at)
		var wg sync.WaitGroup
		start := time.Now()
		for i := lo; i < hi; i++ {
			if cfg.QPS > 0 {
				if d := time.Until(start.Add(time.Duration(float64(i-lo) / cfg.QPS * float64(time.Second)))); d > 0 {
					time.Sleep(d)
				}
			}
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return ctx.Err()
			}
			body, err := json.Marshal(cfg.Requests[i])
			if err != nil {
				return fmt.Errorf("encode request %d: %w", i, err)
			}
			wg.Go(func() {
				defer func() { <-inflight }()
				if err := post(ctx, client, url, body); err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			})
		}
		wg.Wait()
	}
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("e2e: %d auctions failed, the first: %w", f, firstErr)
	}
	return nil
}

// clock is the simulated time of a run: the phase's start plus the real time since the
// phase began.
type clock struct {
	base, real atomic.Int64 // unix nanos
}

func (c *clock) set(t time.Time) {
	c.real.Store(time.Now().UnixNano())
	c.base.Store(t.UnixNano())
}

func (c *clock) now() time.Time {
	return time.Unix(0, c.base.Load()+time.Now().UnixNano()-c.real.Load()).UTC()
}

// collector is the gateway's bid-log sink in a run: it keeps what the comparison needs of
// each row, and passes the rows on to Config.BidLog in the mode that asks for them.
type collector struct {
	next  gateway.BidLogSink
	index map[string]int // request id -> index in Config.Requests
	dsps  map[string]int

	mu        sync.Mutex
	pairs     [][]Pair
	versions  map[string]int64
	decisions map[string]int64
}

func newCollector(cfg *Config, mode string) *collector {
	c := &collector{index: make(map[string]int, len(cfg.Requests)), dsps: map[string]int{}, pairs: make([][]Pair, len(cfg.Requests)),
		versions: map[string]int64{}, decisions: map[string]int64{}}
	for i, r := range cfg.Requests {
		c.index[r.ID] = i
	}
	for i, d := range cfg.Profiles.DSPs {
		c.dsps[d.Name] = i
	}
	for i := range c.pairs {
		c.pairs[i] = make([]Pair, len(cfg.Profiles.DSPs))
	}
	if cfg.BidLog != nil && cfg.BidLogMode == mode {
		c.next = cfg.BidLog
	}
	return c
}

// Log implements gateway.BidLogSink.
func (c *collector) Log(rows []bidlog.Row) {
	c.mu.Lock()
	for i := range rows {
		r := &rows[i]
		c.versions[r.ModelVersion]++
		c.decisions[r.Decision]++
		ri, ok := c.index[r.RequestID]
		di, known := c.dsps[r.DSP]
		if !ok || !known {
			continue
		}
		p := &c.pairs[ri][di]
		p.Decision, p.Score, p.Threshold = r.Decision, r.Score, r.Threshold
		switch r.Decision {
		case bidlog.DecisionSent, bidlog.DecisionExplored, bidlog.DecisionShadow, bidlog.DecisionFailOpen:
			p.Sent = true
			p.Late = p.Late || r.Outcome == bidlog.OutcomeTimeout || r.Outcome == bidlog.OutcomeNotSent
		}
		if r.Outcome == bidlog.OutcomeBid {
			p.Bids++
		}
	}
	c.mu.Unlock()
	if c.next != nil {
		c.next.Log(rows)
	}
}

// post sends one bid request; an answer other than 200 or 204 is an error.
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // drained below; nothing to lose
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("auction answered %d", resp.StatusCode)
	}
	return nil
}
