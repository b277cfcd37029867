package training

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/bidsieve/bidsieve/features"
)

// benchSpec is a spec shaped like the one the example profiles give: small vocabularies
// for most features, a few thousand publishers and domains (input width about 170).
func benchSpec(tb testing.TB) *features.Spec {
	tb.Helper()
	card := map[string]int{"dsp": 6, "country": 11, "region": 1, "device_type": 4, "os": 5, "browser": 6,
		"connection": 4, "channel": 2, "domain": 5000, "publisher": 5000, "category": 20, "format": 7,
		"position": 3, "user_id": 2, "hour_utc": 24, "day_of_week": 7}
	s := &features.Spec{Version: features.SpecVersion}
	for _, name := range features.CategoricalNames {
		f := features.Feature{Name: name, Kind: features.Categorical}
		for i := 0; i < card[name]; i++ {
			f.Vocab = append(f.Vocab, name+strconv.Itoa(i))
		}
		f.EmbDim = features.DefaultEmbDim(f.Cardinality())
		s.Features = append(s.Features, f)
	}
	for _, name := range features.ContinuousNames {
		s.Features = append(s.Features, features.Feature{Name: name, Kind: features.Continuous, Std: 1})
	}
	if err := s.Validate(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// randomDataset draws n rows with uniform categorical indices and a label that depends on
// a few of them.
func randomDataset(spec *features.Spec, n int, rng *rand.Rand) *dataset {
	nc := features.NumCategorical()
	ds := &dataset{}
	cats := make([]int32, nc)
	conts := make([]float32, features.NumContinuous())
	for r := 0; r < n; r++ {
		for i := 0; i < nc; i++ {
			cats[i] = int32(rng.IntN(spec.Features[i].Cardinality()))
		}
		for j := range conts {
			conts[j] = float32(rng.NormFloat64())
		}
		label := (cats[0]+cats[11])%3 == 0 && rng.Float64() < 0.7
		ds.add(cats, conts, label, 1)
	}
	return ds
}

// BenchmarkTrainStep measures training examples per second of the full network
// (input ~170 -> 1000 -> 500 -> 2) at batch 256, forward, backward and Adam, with
// gorgonia's default BLAS (gonum, pure Go).
func BenchmarkTrainStep(b *testing.B) {
	spec := benchSpec(b)
	rng := rand.New(rand.NewPCG(1, 2))
	tr, err := newNetTrainer(spec, NetConfig{}, rng)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.close()
	ds := randomDataset(spec, 4096, rng)
	idx := make([]int, tr.cfg.BatchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range idx {
			idx[j] = (i*len(idx) + j) % ds.len()
		}
		if _, err := tr.step(ds, idx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(idx))/b.Elapsed().Seconds(), "examples/s")
	b.ReportMetric(float64(tr.p.in), "input_width")
}

// BenchmarkTrainStepFastGEMM is BenchmarkTrainStep with package gemm behind gorgonia.
func BenchmarkTrainStepFastGEMM(b *testing.B) {
	UseFastGEMM()
	defer UseDefaultBLAS()
	BenchmarkTrainStep(b)
}
