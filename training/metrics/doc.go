// Package metrics computes the figures of docs/DESIGN.md ("Model metrics") from scored rows: recall
// and filtered share at a threshold, FS@r, AUC, the validation curve, and one-sided lower
// confidence bounds of recall with an effective count for weighted rows.
//
// Rows carry a weight (1 for a sent row, 1/propensity for an explored one): every count
// below is a sum of weights. Scores are probabilities; a row is sent when its score is at
// least the threshold. Everything is pure and safe for concurrent use.
package metrics
