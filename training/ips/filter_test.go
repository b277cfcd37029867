package ips

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"testing"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/predictor"
	"github.com/bidsieve/bidsieve/predictor/serving"
	"github.com/bidsieve/bidsieve/training"
)

func readAll(t testing.TB, dir string) []bidlog.Row {
	t.Helper()
	rows, err := bidlog.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestFilterLog replays a simulated day through a small champion and checks the log
// against the gateway's rule row by row: the request score is the champion's over the
// request's imps, the decision follows the threshold and the pair's exploration draw,
// filtered rows carry no label, and the unweighted copy differs only in the explored
// rows' propensity.
func TestFilterLog(t *testing.T) {
	dir := t.TempDir()
	o := Options{Profiles: exampleProfiles(t, "alpha", "bravo"), RequestsPerDay: 3000, Seed: 4, Log: io.Discard}.withDefaults()
	in := filepath.Join(dir, "in")
	if err := simulate(context.Background(), o, in, o.Start, 3, o.Seed); err != nil {
		t.Fatal(err)
	}
	day3 := o.Start.AddDate(0, 0, 2)
	res, err := training.Train(context.Background(), training.Options{LogDir: in, Until: day3, Seed: 1, MaxEpochs: 1,
		MinNegatives: 500, RecallTarget: 0.9, Net: training.NetConfig{Hidden: []int{8, 4}, BatchSize: 64}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := predictor.New(res.File)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := serving.New(m)
	if err != nil {
		t.Fatal(err)
	}
	out, plain := filepath.Join(dir, "out"), filepath.Join(dir, "plain")
	const rate = 0.3
	sum, err := FilterLog(context.Background(), FilterOptions{InDir: in, Since: day3, OutDir: out, UnweightedDir: plain,
		Champion: sc, ExplorationRate: rate, ExploreSeed: 11})
	if err != nil {
		t.Fatal(err)
	}
	var orig []bidlog.Row
	for _, r := range readAll(t, in) {
		if r.TS >= day3.UnixMilli() {
			orig = append(orig, r)
		}
	}
	got, gotPlain := readAll(t, out), readAll(t, plain)
	if len(got) != len(orig) || len(gotPlain) != len(orig) || sum.Rows != int64(len(orig)) {
		t.Fatalf("rows: %d in, %d and %d out, summary %d", len(orig), len(got), len(gotPlain), sum.Rows)
	}
	rules := map[string]*gateway.ReplayDSP{}
	var below, explored int
	counts := map[string]*DSPFilter{}
	for i := 0; i < len(orig); {
		// One request: its rows, and per DSP the champion's request score.
		j := i
		for j < len(orig) && orig[j].RequestID == orig[i].RequestID {
			j++
		}
		p := map[string][]float64{}
		for k := i; k < j; k++ {
			id, _ := m.DSPID(orig[k].DSP)
			raw := orig[k].Features()
			var dst [1]float32
			m.ScoreImp(dst[:], &raw, []int32{id}, nil)
			p[orig[k].DSP] = append(p[orig[k].DSP], float64(dst[0]))
		}
		for k := i; k < j; k++ {
			o, g, pl := &orig[k], &got[k], &gotPlain[k]
			if g.RequestID != o.RequestID || g.ImpID != o.ImpID || g.DSP != o.DSP || g.Features() != o.Features() {
				t.Fatalf("row %d: %s/%s/%s, want %s/%s/%s", k, g.RequestID, g.ImpID, g.DSP, o.RequestID, o.ImpID, o.DSP)
			}
			rule := rules[o.DSP]
			if rule == nil {
				rule = gateway.NewReplayDSP(o.DSP, gatewayShaping(res.File.Meta.RecallTarget, rate), res.File.DSPByName(o.DSP), 11)
				rules[o.DSP] = rule
			}
			th, _ := rule.Threshold()
			score := gateway.RequestScore(p[o.DSP])
			if math.Abs(g.Score-score) > 1e-6 || g.Threshold != th || g.ModelVersion != res.File.Meta.Version || g.TrueP != nil {
				t.Fatalf("row %d: score %v threshold %v model %s true_p %v; want %v %v %s nil", k, g.Score, g.Threshold, g.ModelVersion, g.TrueP, score, th, res.File.Meta.Version)
			}
			want, prop, _ := rule.Decide(o.RequestID, true, g.Score)
			if g.Decision != want || g.Propensity != prop {
				t.Fatalf("row %d: %s %v, want %s %v", k, g.Decision, g.Propensity, want, prop)
			}
			c := counts[o.DSP]
			if c == nil {
				c = &DSPFilter{Name: o.DSP}
				counts[o.DSP] = c
			}
			c.Rows++
			switch g.Decision {
			case bidlog.DecisionFiltered:
				c.Filtered++
				if g.Labelled() || g.Outcome != bidlog.OutcomeNotSent || g.BidCPM != 0 || g.Won {
					t.Fatalf("row %d: filtered row %+v carries a label", k, g)
				}
			case bidlog.DecisionExplored, bidlog.DecisionSent:
				if g.Outcome != o.Outcome || g.BidCPM != o.BidCPM {
					t.Fatalf("row %d: outcome %s %v, want %s %v", k, g.Outcome, g.BidCPM, o.Outcome, o.BidCPM)
				}
			}
			if g.ImpID == orig[i].ImpID && g.Score < th { // once per (request, DSP)
				below++
				if g.Decision == bidlog.DecisionExplored {
					explored++
				}
			}
			wantPlain := *g
			if g.Decision == bidlog.DecisionExplored {
				wantPlain.Propensity = 1
			}
			if *pl != wantPlain {
				t.Fatalf("row %d: unweighted copy %+v, want %+v", k, *pl, wantPlain)
			}
		}
		i = j
	}
	if below < 500 {
		t.Fatalf("only %d (request, DSP) pairs below the threshold", below)
	}
	if share := float64(explored) / float64(below); math.Abs(share-rate) > 4*math.Sqrt(rate*(1-rate)/float64(below)) {
		t.Errorf("explored %d of %d pairs below the threshold (%.3f), want %v", explored, below, share, rate)
	}
	for _, d := range sum.DSPs {
		if c := counts[d.Name]; c == nil || c.Rows != d.Rows || c.Filtered != d.Filtered {
			t.Errorf("%s: summary %+v, counted %+v", d.Name, d, c)
		}
	}
}

// TestFilterLogErrors: no model, a rate out of range, a missing directory.
func TestFilterLogErrors(t *testing.T) {
	if _, err := FilterLog(context.Background(), FilterOptions{InDir: t.TempDir(), OutDir: t.TempDir()}); err == nil {
		t.Error("no champion: no error")
	}
	if _, err := FilterLog(context.Background(), FilterOptions{InDir: t.TempDir(), OutDir: t.TempDir(), Champion: &serving.Scorer{}, ExplorationRate: 0.7}); err == nil {
		t.Error("rate 0.7: no error")
	}
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Error("empty options: no error")
	}
}
