package stats

import "math"

// TQuantile returns the p quantile of Student's t distribution with df degrees of freedom
// (p in (0, 1), df > 0): the x with P(T <= x) = p. It inverts TCDF by bisection to within
// 1e-12; it is NaN for p or df out of range.
func TQuantile(p, df float64) float64 {
	if !(p > 0 && p < 1) || !(df > 0) {
		return math.NaN()
	}
	if p == 0.5 {
		return 0
	}
	if p < 0.5 {
		return -TQuantile(1-p, df)
	}
	lo, hi := 0.0, 1.0
	for TCDF(hi, df) < p {
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1e-12*max(1, hi) {
		mid := (lo + hi) / 2
		if TCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// TCDF returns P(T <= x) for Student's t distribution with df degrees of freedom, through
// the regularized incomplete beta function: P(|T| > |x|) = I(df/(df+x²); df/2, 1/2).
func TCDF(x, df float64) float64 {
	tail := incBeta(df/2, 0.5, df/(df+x*x)) / 2 // P(T > |x|)
	if x < 0 {
		return tail
	}
	return 1 - tail
}

// StudentInterval returns the mean of xs and the two-sided confidence interval of the
// mean at the given level (0.95 for 95%), mean ± t(1-(1-level)/2, n-1) · s/√n with s the
// sample standard deviation. With fewer than two values the bounds are -Inf and +Inf:
// one value says nothing about the spread. The mean of no values is NaN.
func StudentInterval(xs []float64, level float64) (mean, lo, hi float64) {
	n := float64(len(xs))
	if len(xs) == 0 {
		return math.NaN(), math.Inf(-1), math.Inf(1)
	}
	for _, x := range xs {
		mean += x
	}
	mean /= n
	if len(xs) < 2 {
		return mean, math.Inf(-1), math.Inf(1)
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	half := TQuantile(1-(1-level)/2, n-1) * math.Sqrt(ss/(n-1)/n)
	return mean, mean - half, mean + half
}

// incBeta is the regularized incomplete beta function I(x; a, b) for a, b > 0 and x in
// [0, 1], from its continued fraction (modified Lentz), on the side where it converges
// fast.
func incBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x > (a+1)/(a+b+2) {
		return 1 - front*betaFraction(b, a, 1-x)/b
	}
	return front * betaFraction(a, b, x) / a
}

// betaFraction evaluates the continued fraction of the incomplete beta function.
func betaFraction(a, b, x float64) float64 {
	const tiny, eps = 1e-300, 1e-15
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	f := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		for _, num := range [2]float64{
			fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm)),
			-(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1)),
		} {
			d = 1 + num*d
			if math.Abs(d) < tiny {
				d = tiny
			}
			c = 1 + num/c
			if math.Abs(c) < tiny {
				c = tiny
			}
			d = 1 / d
			f *= c * d
		}
		if math.Abs(c*d-1) < eps {
			break
		}
	}
	return f
}
