package offline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/simtest"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
	"github.com/bidsieve/bidsieve/internal/filetest"
)

var start = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

func simulate(t testing.TB, dir string, perDay, days int, seed uint64) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), Config{
		Profiles: simtest.LoadExample(t), OutDir: dir, RequestsPerDay: perDay, Start: start, Days: days, Seed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// eachRow streams the rows of dir.
func eachRow(t testing.TB, dir string, f func(r *bidlog.Row)) {
	t.Helper()
	r, err := bidlog.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]bidlog.Row, 4096)
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			f(&buf[i])
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The statistical tests share one simulated data set: 2 days of 20,000 requests.
var (
	shared     struct{ dir string }
	sharedOnce sync.Once
)

func sharedLogs(t *testing.T) string {
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bidsieve-offline-test-")
		if err != nil {
			t.Fatal(err)
		}
		simulate(t, dir, 20000, 2, 11)
		shared.dir = dir
	})
	if shared.dir == "" {
		t.Fatal("shared logs failed")
	}
	return shared.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// calib accumulates bids against their expected number.
type calib struct {
	n, bids     int
	sumP        float64
	varianceSum float64
}

func (c *calib) add(r *bidlog.Row) {
	c.n++
	p := *r.TrueP
	c.sumP += p
	c.varianceSum += p * (1 - p)
	if r.Bid() {
		c.bids++
	}
}

// z is the standardised gap between the bids and their expectation.
func (c *calib) z() float64 {
	if c.varianceSum == 0 {
		return 0
	}
	return (float64(c.bids) - c.sumP) / math.Sqrt(c.varianceSum)
}

// For each DSP, the bids are a sum of independent Bernoulli(true_p) draws: their count
// stays within the 99% bound of its expectation.
func TestBidRateMatchesTrueP(t *testing.T) {
	dir := sharedLogs(t)
	per := map[string]*calib{}
	eachRow(t, dir, func(r *bidlog.Row) {
		if per[r.DSP] == nil {
			per[r.DSP] = &calib{}
		}
		per[r.DSP].add(r)
	})
	for _, d := range simtest.LoadExample(t).DSPs {
		c := per[d.Name]
		if c == nil || c.n == 0 {
			t.Fatalf("no rows for %s", d.Name)
		}
		if z := c.z(); math.Abs(z) > 2.576 {
			t.Errorf("%s: %d bids in %d rows, expected %.1f from true_p (z = %.2f, beyond the 99%% bound)", d.Name, c.bids, c.n, c.sumP, z)
		} else {
			t.Logf("%s: bid rate %.4f, mean true_p %.4f (z = %.2f)", d.Name, float64(c.bids)/float64(c.n), c.sumP/float64(c.n), z)
		}
	}
}

// The same holds in slices, which catches a term applied with the wrong sign or to the
// wrong hours (looser bound: many slices are checked).
func TestCalibrationBySlice(t *testing.T) {
	dir := sharedLogs(t)
	slices := map[string]*calib{}
	add := func(key string, r *bidlog.Row) {
		if slices[key] == nil {
			slices[key] = &calib{}
		}
		slices[key].add(r)
	}
	eachRow(t, dir, func(r *bidlog.Row) {
		add(r.DSP+" hour "+strconv.Itoa(int(r.HourUTC)/6*6), r)
		add(r.DSP+" format "+r.Format, r)
		add(r.DSP+" country "+r.Country, r)
		add(r.DSP+" user_id "+strconv.FormatBool(r.UserID), r)
	})
	keys := make([]string, 0, len(slices))
	for k := range slices {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if z := slices[k].z(); math.Abs(z) > 4 {
			t.Errorf("%s: %d bids, expected %.1f (z = %.2f)", k, slices[k].bids, slices[k].sumP, z)
		}
	}
}

func TestBidsRespectRequireAndFloor(t *testing.T) {
	dir := sharedLogs(t)
	allowedOS := map[string]bool{"ios": true, "android": true, "windows": true, "macos": true}
	type impKey struct{ req, imp string }
	type impBids struct {
		floor  float64
		prices []float64
		won    int
		winner float64
		clear  float64
	}
	imps := map[impKey]*impBids{}
	rows := 0
	eachRow(t, dir, func(r *bidlog.Row) {
		rows++
		if r.Decision != bidlog.DecisionSent || r.Propensity != 1 || r.ModelVersion != "" || r.Score != 0 || r.Threshold != 0 {
			t.Fatalf("decision columns of a simulated row: %+v", r)
		}
		if r.TrueP == nil || *r.TrueP < 0 || *r.TrueP > 1 {
			t.Fatalf("true_p %v", r.TrueP)
		}
		switch r.Outcome {
		case bidlog.OutcomeBid, bidlog.OutcomeNoBid, bidlog.OutcomeError:
		case bidlog.OutcomeTimeout:
			if r.LatencyMS != float64(r.TMaxMS) {
				t.Fatalf("timeout with latency %g, tmax %d", r.LatencyMS, r.TMaxMS)
			}
		default:
			t.Fatalf("outcome %q", r.Outcome)
		}
		if r.Outcome != bidlog.OutcomeTimeout && r.LatencyMS > 0.8*float64(r.TMaxMS) && r.Outcome != bidlog.OutcomeError {
			t.Fatalf("answer at %g ms past 80%% of tmax %d", r.LatencyMS, r.TMaxMS)
		}
		if !r.Bid() {
			if r.Won || r.BidCPM != 0 || r.ClearCPM != 0 {
				t.Fatalf("a row without a bid has prices: %+v", r)
			}
			return
		}
		switch {
		case r.DSP == "alpha" && !allowedOS[r.OS]:
			t.Fatalf("alpha bid on os %q outside its require", r.OS)
		case r.DSP == "bravo" && r.Channel != "app":
			t.Fatalf("bravo bid on channel %q outside its require", r.Channel)
		case r.DSP == "charlie" && r.Channel != "site":
			t.Fatalf("charlie bid on channel %q outside its require", r.Channel)
		}
		if r.BidCPM < r.FloorCPM || r.BidCPM <= 0 {
			t.Fatalf("%s bid %g under the floor %g", r.DSP, r.BidCPM, r.FloorCPM)
		}
		k := impKey{r.RequestID, r.ImpID}
		ib := imps[k]
		if ib == nil {
			ib = &impBids{floor: r.FloorCPM}
			imps[k] = ib
		}
		ib.prices = append(ib.prices, r.BidCPM)
		if r.Won {
			ib.won++
			ib.winner, ib.clear = r.BidCPM, r.ClearCPM
		}
	})
	if rows == 0 || len(imps) == 0 {
		t.Fatal("no bids")
	}
	for k, ib := range imps {
		if ib.won != 1 {
			t.Fatalf("imp %v: %d winners among %d bids", k, ib.won, len(ib.prices))
		}
		sort.Float64s(ib.prices)
		n := len(ib.prices)
		if ib.winner != ib.prices[n-1] {
			t.Fatalf("imp %v: winner bid %g, highest %g", k, ib.winner, ib.prices[n-1])
		}
		want := math.Max(ib.floor, 0.01)
		if n > 1 {
			want = math.Max(ib.floor, ib.prices[n-2]+0.01)
		}
		want = math.Min(want, ib.winner)
		if math.Abs(ib.clear-want) > 2e-6 {
			t.Fatalf("imp %v: clears at %g, want %g (bids %v, floor %g)", k, ib.clear, want, ib.prices, ib.floor)
		}
	}
}

// Each affinity boosts its configured share of the publishers (or domains) of the
// universe, and the boosted ones are offered the boost in the rows.
func TestAffinityHitsConfiguredShare(t *testing.T) {
	p := simtest.LoadExample(t)
	pubs := traffic.New(p.Traffic, 1).Publishers()
	cases := []struct {
		dsp, feature string
		share        float64
	}{{"alpha", "publisher", 0.10}, {"bravo", "domain", 0.08}, {"foxtrot", "publisher", 0.05}}
	for _, c := range cases {
		d := p.DSP(c.dsp)
		hits := 0
		for _, pub := range pubs {
			v := pub.ID
			if c.feature == "domain" {
				v = pub.Domain
			}
			if d.Boosted(c.feature, v) {
				hits++
			}
		}
		n := float64(len(pubs))
		sd := math.Sqrt(n * c.share * (1 - c.share))
		if math.Abs(float64(hits)-n*c.share) > 3.3*sd {
			t.Errorf("%s boosts %d of %d %ss, want a share of %g", c.dsp, hits, len(pubs), c.feature, c.share)
		}
	}
	// In the logs, alpha bids far more often on its boosted publishers' imps, and true_p
	// stays calibrated on both sides.
	alpha := p.DSP("alpha")
	var boosted, plain calib
	eachRow(t, sharedLogs(t), func(r *bidlog.Row) {
		if r.DSP != "alpha" {
			return
		}
		if alpha.Boosted("publisher", r.Publisher) {
			boosted.add(r)
		} else {
			plain.add(r)
		}
	})
	br, pr := float64(boosted.bids)/float64(boosted.n), float64(plain.bids)/float64(plain.n)
	if br < 2*pr {
		t.Errorf("alpha bid rate on boosted publishers %.3f, on others %.3f: want a clear lift", br, pr)
	}
	if math.Abs(boosted.z()) > 4 || math.Abs(plain.z()) > 4 {
		t.Errorf("calibration on boosted (z %.2f) or other publishers (z %.2f)", boosted.z(), plain.z())
	}
}

func TestIdenticalFlagsGiveIdenticalFiles(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	simulate(t, a, 3000, 2, 5)
	simulate(t, b, 3000, 2, 5)
	simulate(t, c, 3000, 2, 6)
	fa, fb, fc := filetest.ReadDir(t, a, nil), filetest.ReadDir(t, b, nil), filetest.ReadDir(t, c, nil)
	if len(fa) != 2 {
		t.Fatalf("%d files for 2 days, want one a day: %v", len(fa), fa)
	}
	if len(fa) != len(fb) {
		t.Fatalf("file lists differ: %v and %v", fa, fb)
	}
	for name, data := range fa {
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between two runs with the same flags", name)
		}
		if bytes.Equal(data, fc[name]) {
			t.Errorf("%s is the same with another seed", name)
		}
	}
}

func TestRowsFollowTheSimulatedClock(t *testing.T) {
	dir := t.TempDir()
	sum := simulate(t, dir, 2000, 3, 1)
	infos, err := bidlog.ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 {
		t.Fatalf("%d files, want one per day", len(infos))
	}
	for i, f := range infos {
		day := start.AddDate(0, 0, i)
		if f.Start().Before(day) || !f.End().Before(day.AddDate(0, 0, 1)) {
			t.Errorf("file %d covers %v to %v, want day %v", i, f.Start(), f.End(), day)
		}
	}
	var rows int64
	eachRow(t, dir, func(r *bidlog.Row) {
		rows++
		ts := time.UnixMilli(r.TS).UTC()
		if int(r.HourUTC) != ts.Hour() || int(r.DayOfWeek) != int(ts.Weekday()) {
			t.Fatalf("row at %v has hour %d, day %d", ts, r.HourUTC, r.DayOfWeek)
		}
	})
	if rows != sum.Rows || sum.Requests != 6000 || sum.Rows != sum.Imps*6 {
		t.Errorf("summary %+v, read %d rows", sum, rows)
	}
}

func TestCancelPublishesWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	sum, err := Run(ctx, Config{
		Profiles: simtest.LoadExample(t), OutDir: dir, RequestsPerDay: 100000, Start: start, Days: 1, Seed: 1,
		Progress: func(done, _ int64) {
			if done >= 5000 {
				once.Do(cancel)
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	var rows int64
	eachRow(t, dir, func(*bidlog.Row) { rows++ })
	if rows == 0 || rows != sum.Rows || sum.Requests >= 100000 {
		t.Errorf("after cancel: %d rows on disk, summary %d rows of %d requests", rows, sum.Rows, sum.Requests)
	}
}

func TestAuction(t *testing.T) {
	tests := []struct {
		name   string
		floor  float64
		prices []float64
		bid    []bool
		winner int
		clear  float64
	}{
		{"no bids", 0.5, []float64{0, 0}, []bool{false, false}, -1, 0},
		{"single bid pays the floor", 0.5, []float64{2, 0}, []bool{true, false}, 0, 0.5},
		{"single bid without floor pays a cent", 0, []float64{2}, []bool{true}, 0, 0.01},
		{"second price plus a cent", 0.5, []float64{1.2, 3, 2}, []bool{true, true, true}, 1, 2.01},
		{"capped at the winner's bid", 0.5, []float64{2.005, 2}, []bool{true, true}, 0, 2.005},
		{"floor above second", 1.5, []float64{2, 1.6}, []bool{true, true}, 0, 1.61},
		{"ignores non-bids", 0, []float64{9, 1, 0.5}, []bool{false, true, true}, 1, 0.51},
	}
	for _, tt := range tests {
		w, c := auction(1, "r", "1", tt.floor, tt.prices, tt.bid)
		if w != tt.winner || math.Abs(c-tt.clear) > 1e-9 {
			t.Errorf("%s: winner %d at %g, want %d at %g", tt.name, w, c, tt.winner, tt.clear)
		}
	}
	// Ties go either way, by the seeded draw, about evenly.
	wins := [3]int{}
	for i := range 3000 {
		w, c := auction(1, strconv.Itoa(i), "1", 0, []float64{2, 2, 2}, []bool{true, true, true})
		if c != 2 {
			t.Fatalf("a tie clears at %g, want 2", c)
		}
		wins[w]++
	}
	for i, n := range wins {
		if n < 850 || n > 1150 {
			t.Errorf("tied bidder %d wins %d of 3000", i, n)
		}
	}
}

func BenchmarkSimulate(b *testing.B) {
	p := simtest.LoadExample(b)
	dir := b.TempDir()
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		sum, err := Run(context.Background(), Config{Profiles: p, OutDir: dir, RequestsPerDay: 20000, Start: start, Days: 1, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// Nothing is specific to the example's DSPs: a profile with other features, no floors,
// four imps a request and a DSP that always fails simulates as its file says.
func TestUnseenProfiles(t *testing.T) {
	p, err := sim.Load("../testdata/unseen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Run leaves nothing behind (goleak retries while goroutines that have signalled
	// their end are still on their way out).
	ignore := goleak.IgnoreCurrent()
	sum, err := Run(context.Background(), Config{Profiles: p, OutDir: dir, RequestsPerDay: 4000, Start: start, Days: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore)
	if sum.Imps != 4*4000 || sum.Rows != 2*sum.Imps {
		t.Fatalf("summary %+v: want 4 imps a request and 2 DSPs", sum)
	}
	var owl calib
	owlBids := 0
	eachRow(t, dir, func(r *bidlog.Row) {
		if r.FloorCPM != 0 || r.Channel != "app" || r.ImpCount != 4 {
			t.Fatalf("row %+v does not follow the traffic section", r)
		}
		switch r.DSP {
		case "X_2":
			if r.Outcome != bidlog.OutcomeError {
				t.Fatalf("X_2 (error_rate 1) has outcome %s", r.Outcome)
			}
		case "night.owl":
			owl.add(r)
			if !r.Bid() {
				return
			}
			owlBids++
			if h := r.HourUTC; (h > 10 && h < 20) || r.Country != "NLD" {
				t.Fatalf("night.owl bid at %dh in %s, outside its require", h, r.Country)
			}
			if r.BidCPM != 0.2 {
				t.Fatalf("night.owl bid %g, its price has no spread", r.BidCPM)
			}
		default:
			t.Fatalf("unknown DSP %q", r.DSP)
		}
	})
	if owlBids == 0 || math.Abs(owl.z()) > 3.3 {
		t.Errorf("night.owl: %d bids, expected %.1f (z = %.2f)", owl.bids, owl.sumP, owl.z())
	}
}
