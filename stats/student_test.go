package stats

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// Quantiles of Student's t from the printed tables (e.g. NIST/SEMATECH e-Handbook,
// 1.3.6.7.2), to the 3 decimals printed there.
func TestTQuantileMatchesTables(t *testing.T) {
	for _, c := range []struct {
		p, df, want float64
	}{
		{0.975, 1, 12.706}, {0.975, 2, 4.303}, {0.975, 3, 3.182}, {0.975, 4, 2.776},
		{0.975, 5, 2.571}, {0.975, 9, 2.262}, {0.975, 10, 2.228}, {0.975, 19, 2.093},
		{0.975, 29, 2.045}, {0.975, 30, 2.042}, {0.975, 100, 1.984},
		{0.95, 1, 6.314}, {0.95, 10, 1.812}, {0.99, 5, 3.365}, {0.995, 20, 2.845},
		{0.025, 10, -2.228}, {0.5, 7, 0},
	} {
		if got := TQuantile(c.p, c.df); math.Abs(got-c.want) > 0.0006 {
			t.Errorf("TQuantile(%v, %v) = %.4f, want %.3f", c.p, c.df, got, c.want)
		}
	}
	// Many degrees of freedom: the normal quantile.
	if got := TQuantile(0.975, 1e7); math.Abs(got-Z95) > 1e-5 {
		t.Errorf("TQuantile(0.975, 1e7) = %v, want the normal's %v", got, Z95)
	}
}

// gonum's implementation agrees to 1e-8 over a grid (fractional df included).
func TestTQuantileMatchesGonum(t *testing.T) {
	for _, df := range []float64{0.5, 1, 1.5, 2, 3, 7, 19, 50, 300} {
		for _, p := range []float64{0.001, 0.05, 0.2, 0.6, 0.9, 0.975, 0.999} {
			want := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
			if got := TQuantile(p, df); math.Abs(got-want) > 1e-8*max(1, math.Abs(want)) {
				t.Errorf("TQuantile(%v, %v) = %.10f, gonum %.10f", p, df, got, want)
			}
		}
	}
}

func TestTQuantileOutOfRangeIsNaN(t *testing.T) {
	for _, c := range [][2]float64{{0, 3}, {1, 3}, {-0.1, 3}, {0.5, 0}, {0.9, -1}, {math.NaN(), 3}} {
		if got := TQuantile(c[0], c[1]); !math.IsNaN(got) {
			t.Errorf("TQuantile(%v, %v) = %v, want NaN", c[0], c[1], got)
		}
	}
}

func TestStudentInterval(t *testing.T) {
	// 1..5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.7764451.
	mean, lo, hi := StudentInterval([]float64{4, 1, 5, 3, 2}, 0.95)
	half := 2.7764451052 * math.Sqrt(2.5/5)
	if mean != 3 || math.Abs(lo-(3-half)) > 1e-6 || math.Abs(hi-(3+half)) > 1e-6 {
		t.Errorf("StudentInterval(1..5) = %v [%v, %v], want 3 [%v, %v]", mean, lo, hi, 3-half, 3+half)
	}
	if mean, lo, hi := StudentInterval([]float64{7}, 0.95); mean != 7 || !math.IsInf(lo, -1) || !math.IsInf(hi, 1) {
		t.Errorf("one value: %v [%v, %v], want 7 and an unbounded interval", mean, lo, hi)
	}
	if mean, _, _ := StudentInterval(nil, 0.95); !math.IsNaN(mean) {
		t.Errorf("no values: mean %v, want NaN", mean)
	}
}
