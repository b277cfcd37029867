package serving

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gateway"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor"
	"github.com/bidsieve/bidsieve/predictor/serving/servingtest"
)

// testFile is a model file with random weights calibrating alpha, bravo and charlie.
func testFile(seed uint64, hidden []int) *modelfile.File {
	return servingtest.File(servingtest.Options{Seed: seed, DSPs: []string{"alpha", "bravo", "charlie"}, Hidden: hidden, Threshold: 0.1})
}

func writeModel(t testing.TB, f *modelfile.File) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.bsm")
	if err := modelfile.WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	return path
}

func raw(i int) features.Raw {
	return features.Raw{Country: fmt.Sprintf("country-%d", i%4), DeviceType: "device_type-1", Format: fmt.Sprintf("format-%d", i%3),
		UserID: i%2 == 0, FloorCPM: 0.1 * float64(i), HourUTC: int32(i % 24), ImpCount: 2, TMaxMS: 200}
}

func TestScoreMatchesThePredictor(t *testing.T) {
	s, err := Load(writeModel(t, testFile(1, []int{16, 8})))
	if err != nil {
		t.Fatal(err)
	}
	in := &gateway.ScoreInput{
		Features: []features.Raw{raw(1), raw(2)},
		Pairs: []gateway.Pair{
			{Imp: 0, DSP: "bravo"}, {Imp: 1, DSP: "bravo"}, {Imp: 0, DSP: "zulu"}, {Imp: 1, DSP: "alpha"}, {Imp: 0, DSP: "charlie"},
		},
	}
	got := make([]float64, len(in.Pairs))
	if err := s.Score(context.Background(), in, got); err != nil {
		t.Fatal(err)
	}
	m := s.Model()
	for k, pr := range in.Pairs {
		id, ok := m.DSPID(pr.DSP)
		if !ok {
			if !math.IsNaN(got[k]) {
				t.Errorf("pair %d: unknown DSP %s scored %v, want NaN", k, pr.DSP, got[k])
			}
			continue
		}
		want := make([]float32, 1)
		m.Score(want, in.Features, []int32{int32(pr.Imp)}, []int32{id}, nil)
		if math.Abs(got[k]-float64(want[0])) > 1e-6 || !(got[k] > 0 && got[k] < 1) {
			t.Errorf("pair %d (%s, imp %d): %v, the predictor alone %v", k, pr.DSP, pr.Imp, got[k], want[0])
		}
	}
	if s.Version() != "test-1" || s.File().Meta.Version != "test-1" {
		t.Errorf("version %q / %q", s.Version(), s.File().Meta.Version)
	}
}

func TestScoreAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
	s, err := Load(writeModel(t, testFile(2, []int{16, 8})))
	if err != nil {
		t.Fatal(err)
	}
	in := &gateway.ScoreInput{Features: []features.Raw{raw(3)}, Pairs: []gateway.Pair{{Imp: 0, DSP: "alpha"}, {Imp: 0, DSP: "bravo"}, {Imp: 0, DSP: "charlie"}}}
	dst := make([]float64, 3)
	ctx := context.Background()
	_ = s.Score(ctx, in, dst) // warm the pool
	if n := testing.AllocsPerRun(100, func() { _ = s.Score(ctx, in, dst) }); n != 0 {
		t.Errorf("%v allocations per Score, want 0", n)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeModel(t, testFile(3, []int{8}))
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.bsm")
	bad := append([]byte(nil), data...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(corrupt, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.bsm")
	if err := os.WriteFile(truncated, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{corrupt, truncated, filepath.Join(dir, "missing.bsm")} {
		if _, err := Load(path); err == nil {
			t.Errorf("Load(%s) succeeded", filepath.Base(path))
		}
		if m, err := LoadModel(path); err == nil || m != nil {
			t.Errorf("LoadModel(%s) = %v, %v; want a nil model and an error", filepath.Base(path), m, err)
		}
	}
	// A file that validates but whose weights overflow into NaN is refused by the check.
	f := testFile(4, []int{8})
	for i := range f.Net.Layers[0].B {
		f.Net.Layers[0].B[i] = 3e38
	}
	for i := range f.Net.Layers[1].W.Data {
		f.Net.Layers[1].W.Data[i] = float32(3e38 * (1 - 2*float64(i/2%2))) // rows of both signs: Inf - Inf
	}
	m, err := predictor.New(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(m); err == nil || !strings.Contains(err.Error(), "not a probability") {
		t.Errorf("New on NaN weights: %v", err)
	}
}

// BenchmarkScore scores 1 imp for the 6 example DSPs with the 1000/500 network on one
// core: through the adapter (what the gateway calls), with the predictor alone, and
// through the adapter with the caches cold (64 MiB of other data touched before each call,
// untimed), which is closer to what a busy gateway sees between auctions. The model's
// 1000 x 500 layer is bfloat16 numbers, as bidsieve train ships it (stored as bfloat16);
// the -f32 variants have float32 weights there (stored as float32), for comparison.
func BenchmarkScore(b *testing.B) {
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	in := &gateway.ScoreInput{Features: []features.Raw{raw(3)}}
	for _, n := range names {
		in.Pairs = append(in.Pairs, gateway.Pair{Imp: 0, DSP: n})
	}
	dst := make([]float64, len(in.Pairs))
	ctx := context.Background()
	var s *Scorer
	for _, bf16 := range []bool{true, false} {
		f := servingtest.File(servingtest.Options{Seed: 5, DSPs: names, Hidden: []int{1000, 500}, Threshold: 0.1, Values: 50, BF16: bf16})
		sc, err := Load(writeModel(b, f))
		if err != nil {
			b.Fatal(err)
		}
		suffix := ""
		if !bf16 {
			suffix = "-f32"
		} else {
			s = sc
		}
		b.Run("adapter"+suffix, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := sc.Score(ctx, in, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("adapter-cold"+suffix, func(b *testing.B) {
			junk := make([]byte, 64<<20)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for i := 0; i < len(junk); i += 64 {
					junk[i]++
				}
				b.StartTimer()
				if err := sc.Score(ctx, in, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("predictor", func(b *testing.B) {
		m := s.Model()
		impOf, dsps := make([]int32, len(names)), make([]int32, len(names))
		for i, n := range names {
			dsps[i], _ = m.DSPID(n)
		}
		p := make([]float32, len(names))
		var scratch predictor.Scratch
		b.ReportAllocs()
		for b.Loop() {
			m.Score(p, in.Features, impOf, dsps, &scratch)
		}
	})
}
