package training

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gemm"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor"
)

// randomRaws draws imps with realistic vocabularies (a few hundred publishers and domains).
func randomRaws(n int, rng *rand.Rand) []features.Raw {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	raws := make([]features.Raw, n)
	for i := range raws {
		pub := rng.IntN(300)
		raws[i] = features.Raw{
			Country: pick("USA", "GBR", "DEU", "BRA", "IND", "JPN"), Region: pick("", "CA", "TX", "ENG"),
			DeviceType: pick("phone", "desktop", "tablet", "ctv"), OS: pick("android", "ios", "windows", "macos", "other"),
			Browser: pick("chrome", "safari", "app", ""), Connection: pick("wifi", "4g", ""), Channel: pick("site", "app"),
			Domain: "d" + strconv.Itoa(pub) + ".example", Publisher: "p" + strconv.Itoa(pub), Category: pick("IAB1", "IAB12", ""),
			Format: pick("300x250", "320x50", "728x90", "video", "native"), Position: pick("", "1", "3"),
			UserID: rng.IntN(3) > 0, FloorCPM: math.Exp(rng.NormFloat64() - 1), HourUTC: int32(rng.IntN(24)),
			DayOfWeek: int32(rng.IntN(7)), ImpCount: int32(1 + rng.IntN(3)), TMaxMS: int32(100 + 50*rng.IntN(5)),
		}
	}
	return raws
}

// TestParityWithServingForwardPass: the serving forward pass (package predictor, pure Go)
// and gorgonia's graph agree within 1e-5 on the log-probabilities of 1,000 rows, for
// weights after some training (not just the initialisation), through both the
// predictor's plain pass from encoded inputs and its fast path from raw features.
func TestParityWithServingForwardPass(t *testing.T) {
	UseFastGEMM()
	defer UseDefaultBLAS()
	const n = 1000
	rng := rand.New(rand.NewPCG(11, 12))
	dsps := []string{"alpha", "bravo", "charlie"}
	raws := randomRaws(5000, rng)
	sb := features.NewSpecBuilder()
	for i := range raws {
		sb.Add(&raws[i], dsps[i%len(dsps)], 1)
	}
	spec, err := sb.Build(features.BuildOptions{MinCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := features.NewEncoder(spec)
	if err != nil {
		t.Fatal(err)
	}
	nc, nk := features.NumCategorical(), features.NumContinuous()
	train := &dataset{}
	cats, conts := make([]int32, nc), make([]float32, nk)
	for i := range raws {
		d := dsps[i%len(dsps)]
		enc.Encode(&raws[i], d, cats, conts)
		label := (raws[i].Format == "video") == (d == "alpha") && rng.Float64() < 0.6
		train.add(cats, conts, label, 1)
	}
	// The real shape (1000 and 500 hidden units), without weight averaging: the graph and
	// the file must hold the same weights.
	tr, err := newNetTrainer(spec, NetConfig{AverageDecay: -1}, rng)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	for e := 0; e < 2; e++ {
		if _, err := tr.epoch(t.Context(), train, nil); err != nil {
			t.Fatal(err)
		}
	}

	// As the pipeline ships them: the 1000 x 500 layer's weights rounded to bfloat16, which
	// the predictor then stores as bfloat16.
	tr.p.roundHidden()

	// Gorgonia: a forward-only graph of its own over the trained weights.
	g, err := newDenseGraph(tr.p, n, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	rows := make([]int, n)
	test := &dataset{}
	testRaws := randomRaws(n, rng) // includes values outside the vocabularies
	for i := range rows {
		enc.Encode(&testRaws[i], dsps[i%len(dsps)], cats, conts)
		test.add(cats, conts, false, 1)
	}
	tr.p.fillInput(g.X, test.cats, test.conts, n)
	if err := g.run(); err != nil {
		t.Fatal(err)
	}
	want := g.LogProbs()

	// The predictor's plain forward pass from the same encoded inputs.
	f := netFile(spec, tr.p)
	m, err := predictor.New(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1; m.BF16Layers() != want && gemm.Kernel() != "generic" {
		t.Errorf("the predictor stores %d layers as bfloat16, want %d (the rounded one)", m.BF16Layers(), want)
	}
	got := make([]float32, 2*n)
	m.LogProbs(got, test.cats, test.conts, n)
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("plain pass: largest log-probability difference %.3g over %d rows", worst, n)
	if worst > 1e-5 {
		t.Errorf("plain pass: log-probabilities differ by %v (want <= 1e-5)", worst)
	}

	// The fast path the gateway uses, from raw features, with the calibration offset 0:
	// it returns P(bid), so compare log P(bid) and log P(no bid).
	f.DSPs = nil
	for _, d := range dsps {
		f.DSPs = append(f.DSPs, modelfile.DSP{Name: d})
	}
	m, err = predictor.New(f)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, 1)
	worst = 0
	for i := 0; i < n; i++ {
		id, ok := m.DSPID(dsps[i%len(dsps)])
		if !ok {
			t.Fatalf("predictor does not know %s", dsps[i%len(dsps)])
		}
		m.ScoreImp(p, &testRaws[i], []int32{id}, nil)
		pb := float64(p[0])
		worst = math.Max(worst, math.Abs(math.Log(pb)-float64(want[2*i+1])))
		worst = math.Max(worst, math.Abs(math.Log1p(-pb)-float64(want[2*i])))
	}
	t.Logf("fast path: largest log-probability difference %.3g over %d rows", worst, n)
	if worst > 1e-5 {
		t.Errorf("fast path: log-probabilities differ by %v (want <= 1e-5)", worst)
	}
}
