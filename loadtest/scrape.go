package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Gateway holds the deltas of a gateway's /metrics over a run.
type Gateway struct {
	CPUSeconds float64 `json:"cpu_seconds"` // process_cpu_seconds_total
	// CPUPerAuctionUS is CPUSeconds per request sent, in µs.
	CPUPerAuctionUS float64          `json:"cpu_per_auction_us"`
	Auctions        map[string]int64 `json:"auctions"` // bidsieve_auctions_total by result
	Shed            int64            `json:"shed"`     // bidsieve_shed_total, every label summed
	DSPs            map[string]*DSP  `json:"dsps"`
}

// DSP is one DSP's figures from the gateway's /metrics over a run.
type DSP struct {
	Requests  int64            `json:"requests"`  // bidsieve_dsp_requests_total: requests sent to it
	Bids      int64            `json:"bids"`      // bidsieve_dsp_bids_total: valid bids received
	Wins      int64            `json:"wins"`      // bidsieve_dsp_wins_total
	Timeouts  int64            `json:"timeouts"`  // bidsieve_dsp_timeouts_total
	Errors    int64            `json:"errors"`    // bidsieve_dsp_errors_total, every kind
	Decisions map[string]int64 `json:"decisions"` // bidsieve_dsp_decisions_total by decision
}

// WithheldShare is the share of the DSP's decisions that withheld the request by the
// model (decision filtered).
func (d *DSP) WithheldShare() float64 {
	var n int64
	for _, v := range d.Decisions {
		n += v
	}
	return safeDiv(float64(d.Decisions["filtered"]), float64(n))
}

// sample is one series of a scrape: a counter, a gauge or an untyped value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is what one reading saw: the gateway's series by key, and dsp-sim's stats.
type scrape struct {
	series map[string]sample
	stats  dspserver.Stats
}

// scraper reads a gateway's /metrics and dsp-sim's /stats; an empty URL is not read.
type scraper struct {
	client         *http.Client
	metrics, stats string
}

// settle is how long the reading after a run waits, for the gateway's accounting that
// follows its last answers.
const settle = 100 * time.Millisecond

func (s scraper) read(ctx context.Context) (*scrape, error) {
	out := &scrape{}
	if s.metrics != "" {
		body, err := s.get(ctx, s.metrics)
		if err != nil {
			return nil, fmt.Errorf("read gateway metrics: %w", err)
		}
		if out.series, err = parseMetrics(body); err != nil {
			return nil, fmt.Errorf("parse gateway metrics %s: %w", s.metrics, err)
		}
	}
	if s.stats != "" {
		body, err := s.get(ctx, s.stats)
		if err != nil {
			return nil, fmt.Errorf("read dsp-sim stats: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &out.stats); err != nil {
			return nil, fmt.Errorf("parse dsp-sim stats %s: %w", s.stats, err)
		}
	}
	return out, nil
}

func (s scraper) get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return string(body), nil
}

// parseMetrics reads the Prometheus text format into its counter, gauge and untyped
// series.
func parseMetrics(text string) (map[string]sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	out := map[string]sample{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var v float64
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			s := sample{name: name, labels: map[string]string{}, value: v}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			out[seriesKey(name, s.labels)] = s
		}
	}
	return out, nil
}

func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s=%s", k, labels[k])
	}
	return b.String()
}

// deltas returns what changed from before to after: the gateway's figures when metrics
// were read (CPU per auction over sent requests), dsp-sim's per DSP when stats were.
func (s scraper) deltas(before, after *scrape, sent int64) (*Gateway, map[string]dspserver.DSPStats) {
	var gw *Gateway
	if s.metrics != "" {
		gw = gatewayDelta(before.series, after.series)
		gw.CPUPerAuctionUS = safeDiv(gw.CPUSeconds*1e6, float64(sent))
	}
	var sim map[string]dspserver.DSPStats
	if s.stats != "" {
		sim = map[string]dspserver.DSPStats{}
		for name, a := range after.stats.DSPs {
			sim[name] = subStats(a, before.stats.DSPs[name])
		}
	}
	return gw, sim
}

func gatewayDelta(before, after map[string]sample) *Gateway {
	g := &Gateway{Auctions: map[string]int64{}, DSPs: map[string]*DSP{}}
	dsp := func(name string) *DSP {
		d := g.DSPs[name]
		if d == nil {
			d = &DSP{Decisions: map[string]int64{}}
			g.DSPs[name] = d
		}
		return d
	}
	for key, a := range after {
		v := a.value - before[key].value
		n := int64(v + 0.5)
		switch a.name {
		case "process_cpu_seconds_total":
			g.CPUSeconds = v
		case "bidsieve_auctions_total":
			g.Auctions[a.labels["result"]] += n
		case "bidsieve_shed_total":
			g.Shed += n
		case "bidsieve_dsp_requests_total":
			dsp(a.labels["dsp"]).Requests += n
		case "bidsieve_dsp_bids_total":
			dsp(a.labels["dsp"]).Bids += n
		case "bidsieve_dsp_wins_total":
			dsp(a.labels["dsp"]).Wins += n
		case "bidsieve_dsp_timeouts_total":
			dsp(a.labels["dsp"]).Timeouts += n
		case "bidsieve_dsp_errors_total":
			dsp(a.labels["dsp"]).Errors += n
		case "bidsieve_dsp_decisions_total":
			dsp(a.labels["dsp"]).Decisions[a.labels["decision"]] += n
		}
	}
	return g
}

// subStats returns a's counts less b's.
func subStats(a, b dspserver.DSPStats) dspserver.DSPStats {
	return dspserver.DSPStats{
		Requests: a.Requests - b.Requests, Throttled: a.Throttled - b.Throttled, BadRequests: a.BadRequests - b.BadRequests,
		Imps: a.Imps - b.Imps, SumTrueP: a.SumTrueP - b.SumTrueP, BidResponses: a.BidResponses - b.BidResponses,
		Bids: a.Bids - b.Bids, NoBids: a.NoBids - b.NoBids, Timeouts: a.Timeouts - b.Timeouts, Errors: a.Errors - b.Errors,
		Wins: a.Wins - b.Wins, Losses: a.Losses - b.Losses, Billed: a.Billed - b.Billed, SpendCPM: a.SpendCPM - b.SpendCPM,
	}
}
