// Package predictor scores (imp, DSP) pairs with a bidsieve model file in plain Go: the
// calibrated probability that the DSP bids on the imp (docs/DESIGN.md, "One auction, step by step", step 6).
//
// A Model is immutable after New or Load and safe for concurrent use. Scoring allocates
// nothing: the caller passes a Scratch (one per goroutine), or nil to use one from the
// model's pool.
//
// The fast path exploits that the first layer is linear in the inputs: at load, the DSP
// embedding's contribution to layer 1 is precomputed for every DSP (and so is every
// categorical feature's whose table stays under 32 MiB, vocabularies of up to 8,388
// values with the 1000-wide layer); per imp, the contribution of all the other inputs is
// computed once; per DSP, its vector is added and ReLU applied. The next layers run as one
// matrix product over all the (imp, DSP) rows of the call with package gemm's SIMD kernel,
// on weights packed at load: as bfloat16 where they are bfloat16 numbers (the 1000 x 500
// layer of a model from bidsieve train), which halves the bytes a call reads and changes
// no result. LogProbs is the plain forward pass, for
// evaluation and parity tests.
//
// Units: probabilities in [0, 1]; log-probabilities in nats.
package predictor
