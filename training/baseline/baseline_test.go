package baseline

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/training/metrics"
)

// draw returns a row where alpha bids on video in the USA and bravo on apps, with noise.
func draw(rng *rand.Rand) (features.Raw, string, bool) {
	r := features.Raw{Country: []string{"USA", "GBR", "DEU"}[rng.IntN(3)],
		Format: []string{"video", "300x250"}[rng.IntN(2)], Channel: []string{"app", "site"}[rng.IntN(2)],
		Publisher: "p" + strconv.Itoa(rng.IntN(50)), HourUTC: int32(rng.IntN(24)), FloorCPM: rng.Float64()}
	dsp := []string{"alpha", "bravo"}[rng.IntN(2)]
	p := 0.02
	if dsp == "alpha" && r.Country == "USA" && r.Format == "video" || dsp == "bravo" && r.Channel == "app" {
		p = 0.5
	}
	return r, dsp, rng.Float64() < p
}

func TestFTRLLearnsAndStoredModelScoresTheSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	f, err := NewFTRL(FTRLConfig{Bits: 18})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60000; i++ {
		r, dsp, bid := draw(rng)
		f.Learn(&r, dsp, bid, 1)
	}
	m := f.Model()
	if len(m.Index) == 0 || len(m.Index) != len(m.Weight) {
		t.Fatalf("model with %d indices, %d weights", len(m.Index), len(m.Weight))
	}
	s, err := NewFTRLScorer(m)
	if err != nil {
		t.Fatal(err)
	}
	var rows []metrics.Scored
	for i := 0; i < 20000; i++ {
		r, dsp, bid := draw(rng)
		got := s.Score(&r, dsp)
		// The learner's prediction equals the stored model's score.
		if want := f.Predict(&r, dsp); math.Abs(got-want) > 1e-6 {
			t.Fatalf("stored model scores %v, learner %v", got, want)
		}
		rows = append(rows, metrics.Scored{Score: got, Weight: 1, Bid: bid})
	}
	if auc := metrics.Sort(rows).AUC(); auc < 0.85 {
		t.Errorf("FTRL AUC %v on an easy pattern, want > 0.85", auc)
	}
	if _, err := NewFTRL(FTRLConfig{Groups: [][]string{{"nosuch"}}}); err == nil {
		t.Error("unknown feature in a group accepted")
	}
}

func TestFTRLIsDeterministic(t *testing.T) {
	run := func() []float32 {
		rng := rand.New(rand.NewPCG(5, 5))
		f, _ := NewFTRL(FTRLConfig{Bits: 16})
		for i := 0; i < 5000; i++ {
			r, dsp, bid := draw(rng)
			f.Learn(&r, dsp, bid, 1)
		}
		return f.Model().Weight
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatal("different model sizes")
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same rows gave different weights")
		}
	}
}

func TestHistRateShrinkage(t *testing.T) {
	h := NewHistRate(10)
	for i := 0; i < 100; i++ {
		h.Add("alpha", "p1", "video", i < 50, 1) // 50%
	}
	for i := 0; i < 900; i++ {
		h.Add("alpha", "p2", "banner", i < 90, 1) // 10%
	}
	s, err := NewHistScorer(h.Model())
	if err != nil {
		t.Fatal(err)
	}
	pd := (140.0 + 10*(141.0/1002)) / (1000 + 10)
	pp := (50 + 10*pd) / (100 + 10)
	want := (50 + 10*pp) / (100 + 10)
	if got := s.Score("alpha", "p1", "video"); math.Abs(got-want) > 1e-12 {
		t.Errorf("score %v, want %v", got, want)
	}
	// An unseen publisher falls back to the DSP's rate, shrunk twice more towards itself.
	if got := s.Score("alpha", "new", "video"); math.Abs(got-pd) > 1e-12 {
		t.Errorf("unseen publisher: %v, want the DSP rate %v", got, pd)
	}
}
