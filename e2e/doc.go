// Package e2e runs bidsieve end to end on loopback: the simulated DSPs of a profile file
// (dsp/sim's HTTP server), the gateway with a trained model in front of them, and the same
// requests from the simulator's traffic generator sent through it once per shaping mode
// (off, shadow, filter). Compare then measures what filtering costs in bids and saves in
// requests, per DSP, against an oracle that knows every DSP's true bid probability, and
// checks that shadow mode sends exactly what off sends while logging what filter does.
//
// The DSPs answer each (request, imp) as a pure function of the seed and the ids, and
// every run uses the same simulated clock per phase, so runs differ by shaping alone.
//
// The short test (make test) trains a small network on a small simulated window; the full
// run (FullRun: make e2e, the command cmd/e2e) uses a model trained by `bidsieve train` on
// 7 days of 150,000 requests. Both report a table (docs/SHAPING.md). The full run also
// drives the real binary: `bidsieve serve` processes built from the typed configuration
// (ServeConfig), their CPU time read from /proc (ProcessCPU) under `bidsieve loadtest`,
// compared in paired rounds (CompareCPU), and model swaps under load.
package e2e
