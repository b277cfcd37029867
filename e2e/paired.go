package e2e

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/bidsieve/bidsieve/stats"
)

// CPUTurn is one gateway's turn in a round of the CPU comparison (the full run's step 3):
// what it served and what it and the simulated DSPs spent on it.
type CPUTurn struct {
	Mode        string
	Round       int
	Auctions    int64         // answered by the gateway in the turn
	CPU         time.Duration // the gateway process's CPU time (user + system) over the turn
	DSPRequests int64         // bid requests the simulated DSPs received
	Scoring     time.Duration // the gateway's scoring time (bidsieve_predictor_duration_seconds_sum)
	SimCPU      time.Duration // the dsp-sim process's CPU time over the turn
	P99MS       float64       // the load tester's p99 latency
	Failed      int64         // auctions that failed or timed out at the load tester
}

// PerAuction returns d per auction of the turn in µs (0 without auctions).
func (t *CPUTurn) PerAuction(d time.Duration) float64 {
	if t.Auctions == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(t.Auctions)
}

// cpuHeader and WriteRow print the turns as the table of the run's log and cpu.txt.
const cpuHeader = "%-7s %-5s %9s %9s %11s %13s %12s %12s %12s %9s\n"

// WriteCPUHeader writes the header of the turns' table.
func WriteCPUHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, cpuHeader, "mode", "round", "auctions", "cpu_s", "us/auction", "dsp_requests", "scoring_us", "sim_cpu_s", "sim_us/auct", "p99_ms")
	return err
}

// WriteRow writes the turn as one row of the table.
func (t *CPUTurn) WriteRow(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%-7s %-5d %9d %9.2f %11.1f %13d %12.1f %12.2f %12.1f %9.1f\n",
		t.Mode, t.Round, t.Auctions, t.CPU.Seconds(), t.PerAuction(t.CPU), t.DSPRequests,
		t.PerAuction(t.Scoring), t.SimCPU.Seconds(), t.PerAuction(t.SimCPU), t.P99MS)
	return err
}

// CPUComparison is the paired comparison of the CPU per auction of two modes over rounds
// in which each took one turn: the difference other - base per round.
type CPUComparison struct {
	Base, Other             string
	BaseMedian, OtherMedian float64 // µs per auction, median over the rounds
	BaseRounds, OtherRounds int
	Rounds                  int     // rounds with a turn of both
	Mean, Lower, Upper      float64 // mean difference (µs) and its 95% interval (Student t)
	Below                   int     // rounds in which other used less than base
}

// CompareCPU pairs the turns of base and other by round.
func CompareCPU(turns []CPUTurn, base, other string) CPUComparison {
	c := CPUComparison{Base: base, Other: other}
	per := map[string]map[int]float64{base: {}, other: {}}
	for i := range turns {
		if m, ok := per[turns[i].Mode]; ok {
			m[turns[i].Round] = turns[i].PerAuction(turns[i].CPU)
		}
	}
	values := func(m map[int]float64) []float64 { return slices.Collect(maps.Values(m)) }
	c.BaseMedian, c.BaseRounds = median(values(per[base])), len(per[base])
	c.OtherMedian, c.OtherRounds = median(values(per[other])), len(per[other])
	var diffs []float64
	for _, r := range slices.Sorted(maps.Keys(per[base])) {
		o, ok := per[other][r]
		if !ok {
			continue
		}
		d := o - per[base][r]
		diffs = append(diffs, d)
		if d < 0 {
			c.Below++
		}
	}
	c.Rounds = len(diffs)
	c.Mean, c.Lower, c.Upper = stats.StudentInterval(diffs, 0.95)
	return c
}

// Write prints the comparison as the run's log does.
func (c *CPUComparison) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "CPU per auction (µs): median per mode, and the paired difference %s - %s per round:\n"+
		"  %-7s median %.1f (of %d rounds)\n  %-7s median %.1f (of %d rounds)\n"+
		"  %s - %s: mean %.1f µs, 95%% interval [%.1f, %.1f] (Student t, %d rounds); %s below %s in %d of %d rounds\n",
		c.Other, c.Base, c.Base, c.BaseMedian, c.BaseRounds, c.Other, c.OtherMedian, c.OtherRounds,
		c.Other, c.Base, c.Mean, c.Lower, c.Upper, c.Rounds, c.Other, c.Base, c.Below, c.Rounds)
	return err
}

// median is the median of xs (the mean of the middle two for an even count), NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}
