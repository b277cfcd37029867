package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes a human summary of r.
func (r *Result) Print(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scheduled %d requests at %.0f/s for %v to %d target(s); elapsed %v\n",
		r.Scheduled, r.QPS, r.Duration, len(r.Targets), r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "sent %d, dropped %d (in-flight cap), answered %d (%.0f/s), shed %d (%.2f%%), timeouts %d, failures %d, worst send lag %.1f ms\n",
		r.Sent, r.Dropped, r.Answered, r.AchievedQPS, r.Shed, 100*r.ShedShare(), r.Timeouts, r.Failures, r.MaxLagMS)
	b.WriteString("status:")
	for _, c := range sortedKeys(r.Status) {
		fmt.Fprintf(&b, " %d=%d", c, r.Status[c])
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "bids %d in %d responses (%.2f%% of auctions), %.2f CPM on average, revenue %.4f CPM\n",
		r.Bids, r.BidResps, 100*r.BidShare(), safeDiv(r.BidCPMSum, float64(r.Bids)), cpm(r.RevenueMicros))
	l := r.Latency
	fmt.Fprintf(&b, "latency ms (from schedule): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	if r.Shed > 0 {
		l := r.AcceptedLatency
		fmt.Fprintf(&b, "latency ms of the auctions not shed: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
			l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	fmt.Fprintf(&b, "late (past the bound, or unanswered): %d (%.2f%% of the auctions not shed)\n", r.Late, 100*r.LateShare())
	if g := r.Gateway; g != nil {
		fmt.Fprintf(&b, "gateway: CPU %.2f s, %.1f µs per auction, shed %d, auctions %v\n", g.CPUSeconds, g.CPUPerAuctionUS, g.Shed, g.Auctions)
	}
	if len(r.Seats) > 0 || r.Gateway != nil || r.DSPSim != nil {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "dsp\tsent\twithheld\tbids (gw)\tbids kept\trevenue kept CPM\tsim requests\tsim bids\t")
		for _, name := range r.dspNames() {
			d := r.dspRow(name)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.4f\t%s\t%s\t\n", name, d.sent, d.withheld, d.bids, d.seat.Bids, cpm(d.seat.RevenueMicros), d.simRequests, d.simBids)
		}
		_ = tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dspRow is one DSP's figures, as printed; "-" where they were not read.
type dspRow struct {
	sent, withheld, bids, simRequests, simBids string
	seat                                       Seat
}

func (r *Result) dspRow(name string) dspRow {
	d := dspRow{sent: "-", withheld: "-", bids: "-", simRequests: "-", simBids: "-", seat: r.Seats[name]}
	if r.Gateway != nil {
		if g, ok := r.Gateway.DSPs[name]; ok {
			d.sent, d.bids = fmt.Sprint(g.Requests), fmt.Sprint(g.Bids)
			d.withheld = fmt.Sprintf("%.2f%%", 100*g.WithheldShare())
		}
	}
	if s, ok := r.DSPSim[name]; ok {
		d.simRequests, d.simBids = fmt.Sprint(s.Requests), fmt.Sprint(s.Bids)
	}
	return d
}

// dspNames lists every DSP the result has figures for, sorted.
func (r *Result) dspNames() []string {
	set := map[string]bool{}
	for k := range r.Seats {
		set[k] = true
	}
	if r.Gateway != nil {
		for k := range r.Gateway.DSPs {
			set[k] = true
		}
	}
	for k := range r.DSPSim {
		set[k] = true
	}
	return sortedKeys(set)
}

// Line is the step's line of a ramp's output.
func (s Step) Line() string {
	r := s.Result
	verdict := "holds"
	if !s.Holds {
		verdict = "fails: " + s.Why
	}
	return fmt.Sprintf("%8.0f/s  p50 %7.2f  p99 %7.2f ms (not shed)  late %5.2f%%  shed %5.2f%%  bid share %6.2f%%  revenue %.4f CPM  %s",
		s.QPS, r.AcceptedLatency.P50, r.AcceptedLatency.P99, 100*s.LateShare, 100*s.ShedShare, 100*s.BidShare, cpm(r.RevenueMicros), verdict)
}

// Print writes the ramp's answer (the step lines are printed as the steps end).
func (rr *RampResult) Print(w io.Writer) error {
	var b strings.Builder
	crit := fmt.Sprintf("at most 1%% of the auctions not shed past %s, bid share within %g%% of the first step's", rr.LatencyBound, 100*rr.Tolerance)
	switch {
	case rr.Best == 0:
		fmt.Fprintf(&b, "no rate holds (%s)\n", crit)
	case rr.Knee == 0:
		fmt.Fprintf(&b, "highest rate that holds: %.0f/s, the last step (%s)\n", rr.Best, crit)
	default:
		fmt.Fprintf(&b, "highest rate that holds: %.0f/s; %.0f/s fails (%s)\n", rr.Best, rr.Knee, crit)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Print writes the two sides side by side.
func (c *Comparison) Print(w io.Writer) error {
	a, b := c.ResultA, c.ResultB
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(label string, f func(r *Result) string) { fmt.Fprintf(tw, "%s\t%s\t%s\t\n", label, f(a), f(b)) }
	fmt.Fprintf(tw, "\t%s\t%s\t\n", c.A.Name, c.B.Name)
	row("auctions scheduled", func(r *Result) string { return fmt.Sprint(r.Scheduled) })
	row("answered", func(r *Result) string { return fmt.Sprint(r.Answered) })
	row("shed share", func(r *Result) string { return fmt.Sprintf("%.2f%%", 100*r.ShedShare()) })
	row("timeouts + failures", func(r *Result) string { return fmt.Sprint(r.Timeouts + r.Failures) })
	row("auctions with a bid", func(r *Result) string { return fmt.Sprintf("%d (%.2f%%)", r.BidResps, 100*r.BidShare()) })
	row("revenue kept, CPM", func(r *Result) string { return fmt.Sprintf("%.4f", cpm(r.RevenueMicros)) })
	row("gateway CPU per auction", func(r *Result) string {
		if r.Gateway == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f µs", r.Gateway.CPUPerAuctionUS)
	})
	for _, q := range []struct {
		name string
		f    func(l Latency) float64
	}{{"p50", func(l Latency) float64 { return l.P50 }}, {"p90", func(l Latency) float64 { return l.P90 }},
		{"p99", func(l Latency) float64 { return l.P99 }}, {"p99.9", func(l Latency) float64 { return l.P999 }}} {
		row("latency "+q.name+" ms", func(r *Result) string { return fmt.Sprintf("%.2f", q.f(r.Latency)) })
	}
	fmt.Fprintln(tw, "\t\t\t")
	names := map[string]bool{}
	for _, r := range []*Result{a, b} {
		for _, n := range r.dspNames() {
			names[n] = true
		}
	}
	for _, n := range sortedKeys(names) {
		da, db := a.dspRow(n), b.dspRow(n)
		fmt.Fprintf(tw, "%s: requests sent\t%s\t%s\t\n", n, da.sent, db.sent)
		fmt.Fprintf(tw, "%s: withheld\t%s\t%s\t\n", n, da.withheld, db.withheld)
		fmt.Fprintf(tw, "%s: bids kept\t%d\t%d\t\n", n, da.seat.Bids, db.seat.Bids)
		fmt.Fprintf(tw, "%s: revenue kept, CPM\t%.4f\t%.4f\t\n", n, cpm(da.seat.RevenueMicros), cpm(db.seat.RevenueMicros))
		fmt.Fprintf(tw, "%s: dsp-sim requests\t%s\t%s\t\n", n, da.simRequests, db.simRequests)
	}
	_ = tw.Flush()
	_, err := io.WriteString(w, sb.String())
	return err
}

// cpm turns micros into CPM.
func cpm(micros int64) float64 { return float64(micros) / 1e6 }

func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
