// Package stats holds the small estimators and confidence intervals that the gateway, the
// admin API and the end-to-end comparison share, and [Figures], one DSP's live figures: the
// gateway produces them, the admin API serves them, the comparison and the gauges read
// their live recall estimate; and [Logistic], the logit-to-probability map that training and
// its baselines share. It is plain Go with no dependencies outside the standard
// library; its functions are pure and safe for concurrent use. Recalls and shares are
// fractions in [0, 1].
package stats
