package predictor

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor/serving/servingtest"
)

var (
	benchOnce  sync.Once
	benchModel *Model
)

// realisticModel is the benchmark model: the realistic vocabularies (64 DSPs, 5,000
// publishers and domains, embeddings of min(50, (cardinality+1)/2)), an input of 270-odd
// values, hidden layers of 1000 and 500, the 1000 x 500 layer rounded to bfloat16 as
// bidsieve train ships it.
func realisticModel(b *testing.B) *Model {
	benchOnce.Do(func() {
		vocab := append([]int(nil), realisticVocab...)
		vocab[0] = 64
		f := testFile(1, vocab, []int{1000, 500}, 64)
		servingtest.RoundHidden(&f.Net)
		m, err := New(f)
		if err != nil {
			b.Fatal(err)
		}
		benchModel = m
	})
	return benchModel
}

// flops is the number of floating-point operations of scoring rows (imp, DSP) pairs of
// imps imps: per imp the gathered layer-1 product, per row the products of the later
// layers.
func (m *Model) flops(imps, rows int) float64 {
	f := 2 * float64(imps) * float64(m.nx) * float64(m.h1)
	for _, l := range m.layers {
		f += 2 * float64(rows) * float64(l.in) * float64(l.out)
	}
	return f
}

// BenchmarkPredict scores one imp for 1, 4, 16 and 64 DSPs with the realistic model.
// Run it on one core: go test -bench Predict -cpu 1.
func BenchmarkPredict(b *testing.B) {
	m := realisticModel(b)
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := realisticVocab
	raws := make([]features.Raw, 64)
	for i := range raws {
		raws[i] = randomRaw(rng, vocab)
	}
	for _, n := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("imps=1/dsps=%d", n), func(b *testing.B) {
			dsps := make([]int32, n)
			for i := range dsps {
				dsps[i] = int32(i % m.NumDSPs())
			}
			dst := make([]float32, n)
			s := new(Scratch)
			m.ScoreImp(dst, &raws[0], dsps, s)
			lat := newLatencies()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t0 := time.Now()
				m.ScoreImp(dst, &raws[i%len(raws)], dsps, s)
				lat.add(time.Since(t0))
				i++
			}
			b.ReportMetric(m.flops(1, n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			lat.report(b, m.flops(1, n))
		})
	}
	// A request of 3 imps, each offered to 16 DSPs, in one batch.
	b.Run("imps=3/dsps=16", func(b *testing.B) {
		imps := raws[:3]
		var impOf, dsps []int32
		for i := range imps {
			for d := 0; d < 16; d++ {
				impOf = append(impOf, int32(i))
				dsps = append(dsps, int32(d))
			}
		}
		dst := make([]float32, len(dsps))
		s := new(Scratch)
		m.Score(dst, imps, impOf, dsps, s)
		lat := newLatencies()
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			m.Score(dst, imps, impOf, dsps, s)
			lat.add(time.Since(t0))
		}
		b.ReportMetric(m.flops(3, len(dsps))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		lat.report(b, m.flops(3, len(dsps)))
	})
}

// latencies keeps the duration of single calls (the last 1<<16), so that a benchmark can
// report the median call: on a shared machine, the mean also counts the time the process
// waited for a core, the median much less.
type latencies struct {
	d []time.Duration
	n int
}

func newLatencies() *latencies { return &latencies{d: make([]time.Duration, 1<<16)} }

func (l *latencies) add(d time.Duration) {
	l.d[l.n%len(l.d)] = d
	l.n++
}

// report adds the metrics p50-µs and p99-µs (single calls), and GFLOP/s-p50, the rate of
// the median call doing flops operations.
func (l *latencies) report(b *testing.B, flops float64) {
	d := l.d[:min(l.n, len(l.d))]
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(flops/d[len(d)/2].Seconds()/1e9, "GFLOP/s-p50")
}

// BenchmarkLogProbs is the reference forward pass over a batch of encoded rows, as
// training's evaluation runs it.
func BenchmarkLogProbs(b *testing.B) {
	m := realisticModel(b)
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 1024
	nc, nk := features.NumCategorical(), features.NumContinuous()
	cats, conts := make([]int32, n*nc), make([]float32, n*nk)
	for i := 0; i < n; i++ {
		raw := randomRaw(rng, realisticVocab)
		m.Encoder().Encode(&raw, m.DSPName(int32(i%m.NumDSPs())), cats[i*nc:(i+1)*nc], conts[i*nk:(i+1)*nk])
	}
	dst := make([]float32, 2*n)
	b.ReportAllocs()
	for b.Loop() {
		m.LogProbs(dst, cats, conts, n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLoad writes the realistic model to a file and loads it: read, checks, tables
// and packing, what a hot reload costs.
func BenchmarkLoad(b *testing.B) {
	vocab := append([]int(nil), realisticVocab...)
	vocab[0] = 64
	path := filepath.Join(b.TempDir(), "m.bsm")
	if err := modelfile.WriteFile(path, testFile(1, vocab, []int{1000, 500}, 64)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
