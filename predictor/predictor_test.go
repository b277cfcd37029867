package predictor

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gemm"
	"github.com/bidsieve/bidsieve/modelfile"
)

// withKernels runs f with each gemm kernel this CPU has (the model is prepared inside f,
// so that its packed weights use that kernel).
func withKernels(t *testing.T, f func(t *testing.T)) {
	for _, k := range gemm.Kernels() {
		prev, err := gemm.UseKernel(k)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(k, f)
		gemm.UseKernel(prev)
	}
}

func newModel(t testing.TB, f *modelfile.File) *Model {
	t.Helper()
	m, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reference scores the pairs with LogProbs on inputs from Encode.
func reference(m *Model, imps []features.Raw, impOf, dsps []int32) []float64 {
	n := len(dsps)
	nc, nk := features.NumCategorical(), features.NumContinuous()
	cats, conts := make([]int32, n*nc), make([]float32, n*nk)
	for i := range dsps {
		m.Encoder().Encode(&imps[impOf[i]], m.DSPName(dsps[i]), cats[i*nc:(i+1)*nc], conts[i*nk:(i+1)*nk])
	}
	lp := make([]float32, 2*n)
	m.LogProbs(lp, cats, conts, n)
	logits := make([]float64, n)
	for i := range logits {
		logits[i] = float64(lp[2*i+1]-lp[2*i]) + m.dsps[dsps[i]].offset
	}
	return logits
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestFastMatchesReference: the fast path (tables, shared part per imp, packed layers)
// agrees with the plain forward pass within 1e-5, on random models and inputs.
func TestFastMatchesReference(t *testing.T) {
	configs := []struct {
		name   string
		vocab  []int
		hidden []int
		limit  int // maxTableFloats
	}{
		{"one hidden", smallVocab, []int{37}, 1 << 20},
		{"two hidden", smallVocab, []int{1000, 500}, 1 << 20},
		{"two hidden gathered", smallVocab, []int{1000, 500}, 100_000},
		{"three hidden", smallVocab, []int{129, 65, 17}, 1000},
		{"no hidden", smallVocab, nil, 1 << 20},
		{"no tables", smallVocab, []int{20}, 1},
		{"odd widths", []int{1, 1, 1, 1, 1, 1, 1, 1, 3000, 1, 1, 1, 1, 1, 1, 1}, []int{333, 7}, 100_000},
	}
	withKernels(t, func(t *testing.T) {
		for ci, c := range configs {
			f := testFile(uint64(ci+1), c.vocab, c.hidden, 5)
			saved := maxTableFloats
			maxTableFloats = c.limit
			m := newModel(t, f)
			maxTableFloats = saved
			if c.limit < 1<<20 && len(m.gathered) == 0 {
				t.Fatalf("%s: no feature takes the gathered path", c.name)
			}
			rng := rand.New(rand.NewPCG(uint64(ci), 7))
			imps := make([]features.Raw, 5)
			for i := range imps {
				imps[i] = randomRaw(rng, c.vocab)
			}
			// Pairs in random order, more than maxRows of them, every DSP id (the
			// uncalibrated ones included).
			var impOf, dsps []int32
			for len(dsps) < 2*maxRows+7 {
				impOf = append(impOf, int32(rng.IntN(len(imps))))
				dsps = append(dsps, int32(rng.IntN(m.NumDSPs())))
			}
			want := reference(m, imps, impOf, dsps)
			got := make([]float32, len(dsps))
			m.Score(got, imps, impOf, dsps, nil)
			for i := range got {
				if d := math.Abs(float64(got[i]) - sigmoid(want[i])); d > 1e-5 {
					t.Fatalf("%s: pair %d (imp %d, %s): fast %v, reference %v", c.name, i, impOf[i], m.DSPName(dsps[i]), got[i], sigmoid(want[i]))
				}
			}
			// The logits agree too (a relative test that also covers tiny probabilities).
			logits := make([]float32, len(dsps))
			m.ScoreLogits(logits, imps, impOf, dsps, nil)
			for i := range logits {
				if d := math.Abs(float64(logits[i]) - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("%s: pair %d: fast logit %v, reference %v", c.name, i, logits[i], want[i])
				}
			}
			// ScoreImp agrees with Score.
			one := make([]float32, len(dsps))
			m.ScoreImp(one, &imps[2], dsps, new(Scratch))
			all := make([]float32, len(dsps))
			two := make([]int32, len(dsps))
			for i := range two {
				two[i] = 2
			}
			m.Score(all, imps, two, dsps, nil)
			for i := range one {
				if one[i] != all[i] {
					t.Fatalf("%s: ScoreImp %v != Score %v", c.name, one[i], all[i])
				}
			}
		}
	})
}

// TestLogProbsNaive checks the reference itself against a float64 forward pass written
// from the definition in modelfile.Network.
func TestLogProbsNaive(t *testing.T) {
	f := testFile(9, smallVocab, []int{50, 20}, 3)
	m := newModel(t, f)
	rng := rand.New(rand.NewPCG(1, 1))
	nc, nk := features.NumCategorical(), features.NumContinuous()
	const n = 300
	cats, conts := make([]int32, n*nc), make([]float32, n*nk)
	for i := 0; i < n; i++ {
		raw := randomRaw(rng, smallVocab)
		m.Encoder().Encode(&raw, vocabToken(0, rng.IntN(9)), cats[i*nc:(i+1)*nc], conts[i*nk:(i+1)*nk])
	}
	lp := make([]float32, 2*n)
	m.LogProbs(lp, cats, conts, n)
	for i := 0; i < n; i++ {
		var x []float64
		for f := 0; f < nc; f++ {
			e := &m.file.Net.Embeddings[f]
			for _, v := range e.Data[int(cats[i*nc+f])*e.Cols : (int(cats[i*nc+f])+1)*e.Cols] {
				x = append(x, float64(v))
			}
		}
		for _, v := range conts[i*nk : (i+1)*nk] {
			x = append(x, float64(v))
		}
		for li, l := range m.file.Net.Layers {
			y := make([]float64, l.W.Cols)
			for j := range y {
				y[j] = float64(l.B[j])
				for k := range x {
					y[j] += x[k] * float64(l.W.Data[k*l.W.Cols+j])
				}
				if li < len(m.file.Net.Layers)-1 {
					y[j] = math.Max(y[j], 0)
				}
			}
			x = y
		}
		lse := math.Max(x[0], x[1]) + math.Log1p(math.Exp(-math.Abs(x[0]-x[1])))
		for j := 0; j < 2; j++ {
			if d := math.Abs(float64(lp[2*i+j]) - (x[j] - lse)); d > 1e-5*(1+math.Abs(x[j]-lse)) {
				t.Fatalf("row %d: log-prob %d = %v, want %v", i, j, lp[2*i+j], x[j]-lse)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	m := newModel(t, testFile(3, smallVocab, []int{100, 50}, 4))
	rng := rand.New(rand.NewPCG(2, 2))
	imps := []features.Raw{randomRaw(rng, smallVocab), randomRaw(rng, smallVocab)}
	dsps := []int32{0, 1, 2, 3, 0, 1}
	impOf := []int32{0, 0, 0, 1, 1, 1}
	dst := make([]float32, len(dsps))
	s := new(Scratch)
	m.Score(dst, imps, impOf, dsps, s) // grow the scratch
	if a := testing.AllocsPerRun(20, func() { m.Score(dst, imps, impOf, dsps, s) }); a != 0 {
		t.Errorf("Score allocates %v times per call", a)
	}
	if a := testing.AllocsPerRun(20, func() { m.ScoreImp(dst, &imps[0], dsps, s) }); a != 0 {
		t.Errorf("ScoreImp allocates %v times per call", a)
	}
}

func TestDSPIDs(t *testing.T) {
	f := testFile(4, smallVocab, []int{8}, 3)
	m := newModel(t, f)
	if m.NumDSPs() != smallVocab[0] {
		t.Fatalf("%d DSP ids, want %d (every DSP of the vocabulary)", m.NumDSPs(), smallVocab[0])
	}
	for i, d := range f.DSPs {
		id, ok := m.DSPID(d.Name)
		if !ok || id != int32(i) || m.DSPName(id) != d.Name {
			t.Fatalf("DSPID(%q) = %d, %v", d.Name, id, ok)
		}
		if m.dsps[id].offset != d.LogitOffset {
			t.Fatalf("%s: offset %v, want %v", d.Name, m.dsps[id].offset, d.LogitOffset)
		}
	}
	// Uncalibrated vocabulary DSPs get the default keep rate's offset.
	id, ok := m.DSPID(vocabToken(0, 5))
	if !ok || m.dsps[id].offset != math.Log(f.Meta.NegativeRate) {
		t.Fatalf("uncalibrated DSP: id %d ok %v offset %v", id, ok, m.dsps[id].offset)
	}
	if _, ok := m.DSPID("never-seen"); ok {
		t.Fatal("DSPID knows a DSP the model has never seen")
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.bsm")
	f := testFile(5, smallVocab, []int{8}, 2)
	if err := modelfile.WriteFile(good, f); err != nil {
		t.Fatal(err)
	}
	m, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version() != f.Meta.Version {
		t.Fatalf("version %q, want %q", m.Version(), f.Meta.Version)
	}
	data, _ := os.ReadFile(good)

	corrupt := bytes.Clone(data)
	corrupt[len(corrupt)/3] ^= 1
	path := filepath.Join(dir, "corrupt.bsm")
	os.WriteFile(path, corrupt, 0o644)
	if _, err := Load(path); !errors.Is(err, modelfile.ErrCorrupt) {
		t.Errorf("corrupt file: %v", err)
	}
	os.WriteFile(path, data[:len(data)-10], 0o644)
	if _, err := Load(path); !errors.Is(err, modelfile.ErrCorrupt) {
		t.Errorf("truncated file: %v", err)
	}

	bad := testFile(5, smallVocab, []int{8}, 2)
	bad.SpecHash = "0123"
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "feature-spec hash 0123 is not implemented") {
		t.Errorf("mismatched spec hash: %v", err)
	}
	bad = testFile(5, smallVocab, []int{8}, 2)
	bad.Net.Layers[1].W.Data[0] = float32(math.NaN())
	if _, err := New(bad); err == nil {
		t.Error("New accepted a NaN weight")
	}
	if _, err := Load(filepath.Join(dir, "missing.bsm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestConcurrent scores from many goroutines at once, with their own and with pooled
// scratch, and checks every result against the sequential one (run with -race).
func TestConcurrent(t *testing.T) {
	m := newModel(t, testFile(6, smallVocab, []int{64, 32}, 5))
	rng := rand.New(rand.NewPCG(3, 3))
	imps := make([]features.Raw, 3)
	for i := range imps {
		imps[i] = randomRaw(rng, smallVocab)
	}
	impOf := []int32{0, 1, 2, 0, 1, 2, 2}
	dsps := []int32{0, 1, 2, 3, 4, 5, 6}
	want := make([]float32, len(dsps))
	m.Score(want, imps, impOf, dsps, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s *Scratch
			if g%2 == 0 {
				s = new(Scratch)
			}
			got := make([]float32, len(dsps))
			for it := 0; it < 200; it++ {
				m.Score(got, imps, impOf, dsps, s)
				for i := range got {
					if got[i] != want[i] {
						errs <- "concurrent score differs"
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestVecHelpers checks the element-wise helpers, assembly and Go, against their
// definitions on every length up to a few vectors (the tails included), and that they
// write nothing past the end.
func TestVecHelpers(t *testing.T) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	for _, simd := range []bool{false, saved} {
		useAVX2 = simd
		rng := rand.New(rand.NewPCG(8, 8))
		for n := 0; n < 80; n++ {
			a, b := make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			got := make([]float32, n+1)
			got[n] = 42
			addReLU(got[:n], a, b)
			for i := range a {
				if want := max(a[i]+b[i], 0); got[i] != want {
					t.Fatalf("simd=%v: addReLU n=%d: [%d] = %v, want %v", simd, n, i, got[i], want)
				}
			}
			copy(got, a)
			add(got[:n], b)
			for i := range a {
				if want := a[i] + b[i]; got[i] != want {
					t.Fatalf("simd=%v: add n=%d: [%d] = %v, want %v", simd, n, i, got[i], want)
				}
			}
			relu(got[:n])
			for i := range a {
				if want := max(a[i]+b[i], 0); got[i] != want {
					t.Fatalf("simd=%v: relu n=%d: [%d] = %v, want %v", simd, n, i, got[i], want)
				}
			}
			if got[n] != 42 {
				t.Fatalf("simd=%v: n=%d: wrote past the end", simd, n)
			}
		}
	}
}
