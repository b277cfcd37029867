package e2e

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The 20 rounds of docs/BENCHMARKS.md's CPU run (main at 00bd16f, µs per auction, off and
// filter): the medians and the paired difference it reports.
var benchmarkRounds = [][2]float64{
	{677, 720}, {861, 582}, {730, 698}, {755, 704}, {655, 702}, {771, 608}, {870, 844}, {914, 776}, {827, 677}, {583, 660},
	{600, 605}, {647, 617}, {722, 647}, {760, 676}, {729, 778}, {805, 734}, {773, 560}, {623, 499}, {622, 614}, {731, 662},
}

func TestCompareCPU(t *testing.T) {
	var turns []CPUTurn
	for i, r := range benchmarkRounds {
		for j, mode := range []string{"off", "filter"} {
			// 10,000 auctions at r[j] µs each; the order alternates as in the run.
			turns = append(turns, CPUTurn{Mode: mode, Round: i + 1, Auctions: 10000, CPU: time.Duration(r[j]*10000) * time.Microsecond})
		}
	}
	turns = append(turns, CPUTurn{Mode: "shadow", Round: 1, Auctions: 1, CPU: time.Second}) // another mode: ignored
	c := CompareCPU(turns, "off", "filter")
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.05 }
	if !near(c.BaseMedian, 730.5) || !near(c.OtherMedian, 669.0) || c.BaseRounds != 20 || c.OtherRounds != 20 {
		t.Errorf("medians off %.1f (%d rounds), filter %.1f (%d), want 730.5 and 669.0 of 20", c.BaseMedian, c.BaseRounds, c.OtherMedian, c.OtherRounds)
	}
	// BENCHMARKS.md has -64.6 [-108.1, -21.1]: the script's awk took t = 2.1 for every df
	// under 30; t(0.975, 19) is 2.093, which narrows the interval by 0.15 µs a side.
	if !near(c.Mean, -64.6) || !near(c.Lower, -108.0) || !near(c.Upper, -21.2) || c.Rounds != 20 || c.Below != 15 {
		t.Errorf("filter - off %.2f [%.2f, %.2f], below in %d of %d; want -64.6 [-108.0, -21.2], 15 of 20", c.Mean, c.Lower, c.Upper, c.Below, c.Rounds)
	}
	var b strings.Builder
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"off     median 730.5 (of 20 rounds)", "filter  median 669.0 (of 20 rounds)",
		"filter - off: mean -64.6 µs, 95% interval [-108.0, -21.2] (Student t, 20 rounds); filter below off in 15 of 20 rounds"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

// A round in which one of the two modes has no turn (a stopped run) is not paired.
func TestCompareCPUPairsByRound(t *testing.T) {
	turns := []CPUTurn{
		{Mode: "off", Round: 1, Auctions: 1, CPU: 500 * time.Microsecond},
		{Mode: "filter", Round: 1, Auctions: 1, CPU: 400 * time.Microsecond},
		{Mode: "off", Round: 2, Auctions: 1, CPU: 600 * time.Microsecond},
	}
	c := CompareCPU(turns, "off", "filter")
	if c.Rounds != 1 || c.Mean != -100 || c.Below != 1 || c.BaseRounds != 2 || !math.IsInf(c.Lower, -1) {
		t.Errorf("got %+v, want one pair of -100 µs with an unbounded interval", c)
	}
}

func TestCPUTurnRow(t *testing.T) {
	turn := CPUTurn{Mode: "filter", Round: 3, Auctions: 10000, CPU: 7 * time.Second, DSPRequests: 24990,
		Scoring: 807 * time.Millisecond, SimCPU: 4615 * time.Millisecond, P99MS: 152.3}
	var b strings.Builder
	if err := WriteCPUHeader(&b); err != nil {
		t.Fatal(err)
	}
	if err := turn.WriteRow(&b); err != nil {
		t.Fatal(err)
	}
	want := "mode    round  auctions     cpu_s  us/auction  dsp_requests   scoring_us    sim_cpu_s  sim_us/auct    p99_ms\n" +
		"filter  3         10000      7.00       700.0         24990         80.7         4.62        461.5     152.3\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}
