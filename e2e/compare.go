package e2e

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// DSPReport compares the runs for one DSP. Requests are (request, DSP) pairs that the
// decision sent to the DSP; bids are valid bids the gateway received. Pairs that were late
// in any run (see Pair.Late) are left out of every count but Late.
type DSPReport struct {
	Name string
	Late int64 // pairs left out: late in at least one run

	BidsOff, BidsShadow, BidsFilter int64
	SentOff, SentShadow, SentFilter int64
	// Recall is BidsFilter / BidsOff: the bids kept by filtering, on the same requests.
	Recall float64
	// ThresholdRecall is the recall of the threshold alone: the bids on requests sent on
	// their score (explored ones left out) over BidsOff. LiveRecall is the gateway's live
	// estimate of it on the filter run, B_sent / (B_sent + B_explored / exploration_rate),
	// with its 95% interval.
	ThresholdRecall                  float64
	LiveRecall, LiveLower, LiveUpper float64
	// Withheld is 1 - SentFilter / SentOff: the requests that filtering kept from the DSP.
	Withheld float64
	// OracleFS is FS@Recall of the request-level true score (1 - prod(1 - P(bid)) over the
	// imps, from the simulator's profiles) on the requests of the off run, with their bids
	// as labels: what a perfect model would withhold at the recall filtering achieved.
	OracleFS float64
	// Efficiency is Withheld / OracleFS.
	Efficiency float64
	// Filtered and Explored count the filter run's decisions.
	Filtered, Explored int64
	// ShadowMismatches counts pairs whose fate in the shadow run (sent or not, bids)
	// differs from the off run's; ShadowDisagreements counts pairs whose logged shadow
	// decision (score >= threshold) differs from the filter run's decision (sent, or not).
	ShadowMismatches, ShadowDisagreements int64
	// Threshold is the threshold the filter run used.
	Threshold float64
}

// Report is the comparison of the three runs.
type Report struct {
	DSPs    []DSPReport
	Overall DSPReport
	// Requests is the number of auctions of each run; Elapsed the runs' wall times.
	Requests int
	Elapsed  map[string]time.Duration
}

// Compare compares the off, shadow and filter runs of cfg. The exploration rate of the
// live estimate is cfg.ExplorationRate.
func Compare(cfg *Config, off, shadow, filter *RunResult) *Report {
	rep := &Report{Requests: len(cfg.Requests), Elapsed: map[string]time.Duration{}}
	for _, r := range []*RunResult{off, shadow, filter} {
		rep.Elapsed[r.Mode] = r.Elapsed
	}
	phaseOf := phaseIndex(len(cfg.Requests), len(cfg.Phases))
	var all DSPReport
	all.Name = "all"
	var allOracle []scored
	for di, d := range cfg.Profiles.DSPs {
		dr := DSPReport{Name: d.Name}
		var oracle []scored
		var bidsSent, bidsExplored int64
		for ri, req := range cfg.Requests {
			o, s, f := off.Pairs[ri][di], shadow.Pairs[ri][di], filter.Pairs[ri][di]
			if o.Late || s.Late || f.Late {
				dr.Late++
				continue
			}
			dr.BidsOff += int64(o.Bids)
			dr.BidsShadow += int64(s.Bids)
			dr.BidsFilter += int64(f.Bids)
			dr.SentOff += b2i(o.Sent)
			dr.SentShadow += b2i(s.Sent)
			dr.SentFilter += b2i(f.Sent)
			switch f.Decision {
			case bidlog.DecisionFiltered:
				dr.Filtered++
			case bidlog.DecisionExplored:
				dr.Explored++
				bidsExplored += int64(f.Bids)
			default:
				bidsSent += int64(f.Bids)
			}
			if f.Decision == bidlog.DecisionSent && f.Threshold > 0 {
				dr.Threshold = f.Threshold
			}
			if s.Sent != o.Sent || s.Bids != o.Bids {
				dr.ShadowMismatches++
			}
			if s.Decision == bidlog.DecisionShadow && (s.Score >= s.Threshold) != (f.Decision == bidlog.DecisionSent) {
				dr.ShadowDisagreements++
			}
			if o.Sent {
				oracle = append(oracle, scored{score: trueScore(d, req, cfg.Phases[phaseOf(ri)]), bids: o.Bids})
			}
		}
		dr.finish(oracle, bidsSent, bidsExplored, cfg.ExplorationRate)
		rep.DSPs = append(rep.DSPs, dr)
		all.add(&dr)
		allOracle = append(allOracle, oracle...)
	}
	// Overall: the pairs of every DSP together, the oracle over all of them at the
	// overall recall (so a perfect model could also trade bids between DSPs).
	all.finish(allOracle, 0, 0, 0)
	rep.Overall = all
	return rep
}

func (d *DSPReport) add(o *DSPReport) {
	d.Late += o.Late
	d.BidsOff += o.BidsOff
	d.BidsShadow += o.BidsShadow
	d.BidsFilter += o.BidsFilter
	d.SentOff += o.SentOff
	d.SentShadow += o.SentShadow
	d.SentFilter += o.SentFilter
	d.Filtered += o.Filtered
	d.Explored += o.Explored
	d.ShadowMismatches += o.ShadowMismatches
	d.ShadowDisagreements += o.ShadowDisagreements
}

func (d *DSPReport) finish(oracle []scored, bidsSent, bidsExplored int64, rate float64) {
	d.Recall = ratio(d.BidsFilter, d.BidsOff)
	d.ThresholdRecall = ratio(bidsSent, d.BidsOff)
	d.Withheld = 1 - ratio(d.SentFilter, d.SentOff)
	d.OracleFS = fsAt(oracle, d.Recall)
	if d.OracleFS > 0 {
		d.Efficiency = d.Withheld / d.OracleFS
	}
	// The gateway's estimator on the bid log's counts, the explored bids scaled by the
	// run's exploration rate.
	if r := stats.RecallEstimate(bidsSent, bidsExplored, 0, rate); r != nil {
		d.LiveRecall, d.LiveLower, d.LiveUpper = r.Estimate, r.Lower, r.Upper
	}
}

// trueScore is the simulator's request-level probability that DSP d bids on req handled
// at time at: 1 - prod(1 - P(bid)) over its imps (before timeouts and errors, which do
// not depend on the request's content).
func trueScore(d *sim.DSP, req *openrtb2.BidRequest, at time.Time) float64 {
	miss := 1.0
	for i := range req.Imp {
		a := sim.ParseAttrs(req, &req.Imp[i], at)
		ev := d.Evaluate(&a)
		miss *= 1 - ev.PBid
	}
	return 1 - miss
}

type scored struct {
	score float64
	bids  int
}

// fsAt is FS@r: the largest share of the pairs that can be withheld, lowest scores first
// and ties together, while the bids of the others stay at least r of all bids.
func fsAt(rows []scored, r float64) float64 {
	if len(rows) == 0 {
		return 0
	}
	slices.SortFunc(rows, func(a, b scored) int { return cmp.Compare(b.score, a.score) }) // highest first
	var total int64
	for _, x := range rows {
		total += int64(x.bids)
	}
	if total == 0 {
		return 1
	}
	var kept int64
	for i := 0; i < len(rows); {
		j := i
		for ; j < len(rows) && rows[j].score == rows[i].score; j++ {
			kept += int64(rows[j].bids)
		}
		if float64(kept) >= r*float64(total)-1e-9 {
			return 1 - float64(j)/float64(len(rows))
		}
		i = j
	}
	return 0
}

// phaseIndex maps a request's index to its phase, as drive splits them.
func phaseIndex(n, phases int) func(int) int {
	return func(i int) int {
		p := i * phases / n
		for p+1 < phases && i >= (p+1)*n/phases {
			p++
		}
		for p > 0 && i < p*n/phases {
			p--
		}
		return p
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Check returns the problems of the report against the targets: per DSP, recall at least
// minRecall and efficiency at least minEfficiency; shadow identical to off and agreeing
// with filter; at most maxLate of the pairs left out as late.
func (r *Report) Check(minRecall, minEfficiency, maxLate float64) []string {
	var out []string
	if late := ratio(r.Overall.Late, int64(r.Requests*len(r.DSPs))); late > maxLate {
		out = append(out, fmt.Sprintf("%.4f of the pairs were late in some run (left out), want <= %g", late, maxLate))
	}
	for _, d := range r.DSPs {
		if d.BidsOff == 0 {
			out = append(out, d.Name+": no bids with shaping off: nothing to compare")
			continue
		}
		if d.Recall < minRecall {
			out = append(out, fmt.Sprintf("%s: bids %d with filter, %d off: %.4f, want >= %.2f", d.Name, d.BidsFilter, d.BidsOff, d.Recall, minRecall))
		}
		if d.Efficiency < minEfficiency {
			out = append(out, fmt.Sprintf("%s: withheld %.4f of the requests, the oracle %.4f at recall %.4f: %.3f of it, want >= %.2f",
				d.Name, d.Withheld, d.OracleFS, d.Recall, d.Efficiency, minEfficiency))
		}
		if d.ShadowMismatches > 0 || d.SentShadow != d.SentOff || d.BidsShadow != d.BidsOff {
			out = append(out, fmt.Sprintf("%s: shadow sent %d requests (%d bids), off %d (%d bids); %d pairs differ",
				d.Name, d.SentShadow, d.BidsShadow, d.SentOff, d.BidsOff, d.ShadowMismatches))
		}
		if d.ShadowDisagreements > 0 {
			out = append(out, fmt.Sprintf("%s: the shadow log disagrees with filter's decision on %d pairs", d.Name, d.ShadowDisagreements))
		}
	}
	return out
}

// WriteMarkdown writes the report as a Markdown table.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| DSP | bids off | bids shadow | bids filter | recall | threshold recall | live estimate [95%] | requests off | requests filter | withheld | oracle FS@recall | efficiency | explored | threshold |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	row := func(d *DSPReport) {
		live := "-"
		if d.LiveRecall > 0 {
			live = fmt.Sprintf("%.3f [%.3f, %.3f]", d.LiveRecall, d.LiveLower, d.LiveUpper)
		}
		th := "-"
		if d.Threshold > 0 {
			th = fmt.Sprintf("%.4f", d.Threshold)
		}
		tr := "-"
		if d.ThresholdRecall > 0 {
			tr = fmt.Sprintf("%.4f", d.ThresholdRecall)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.4f | %s | %s | %d | %d | %.4f | %.4f | %.3f | %d | %s |\n",
			d.Name, d.BidsOff, d.BidsShadow, d.BidsFilter, d.Recall, tr, live, d.SentOff, d.SentFilter, d.Withheld, d.OracleFS, d.Efficiency, d.Explored, th)
	}
	for i := range r.DSPs {
		row(&r.DSPs[i])
	}
	row(&r.Overall)
	fmt.Fprintf(&b, "\n%d auctions per run; wall time off %v, shadow %v, filter %v; shadow pairs differing from off: %d; shadow decisions differing from filter's: %d; pairs late in some run (left out): %d\n",
		r.Requests, r.Elapsed["off"].Round(time.Millisecond), r.Elapsed["shadow"].Round(time.Millisecond), r.Elapsed["filter"].Round(time.Millisecond),
		r.Overall.ShadowMismatches, r.Overall.ShadowDisagreements, r.Overall.Late)
	_, err := io.WriteString(w, b.String())
	return err
}
