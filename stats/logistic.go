package stats

import "math"

// Logistic is the logistic function 1 / (1 + e^-x), the probability of a logit. It is
// computed without overflow for logits of either sign: training's validation loss and the
// FTRL baseline share it, so both turn a logit into the same probability.
func Logistic(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
