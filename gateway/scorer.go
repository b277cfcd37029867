package gateway

import (
	"context"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Scorer predicts, for every eligible (imp, DSP) pair of a request, the probability that
// the DSP bids. The predictor's model satisfies it; without a model the gateway uses
// PassThrough. A Scorer must be safe for concurrent use and must not keep in or dst after
// Score returns.
type Scorer interface {
	// Score writes into dst[k] the probability, in [0, 1], that DSP in.Pairs[k].DSP bids
	// on imp in.Pairs[k].Imp; len(dst) == len(in.Pairs). NaN says that the scorer does not
	// know the DSP: it is sent unfiltered. An error means no scores for this request: the
	// gateway fails open (sends to every eligible DSP) and counts it.
	Score(ctx context.Context, in *ScoreInput, dst []float64) error
	// Version names the model in the bid log (model_version); "" for none.
	Version() string
}

// Model is a Scorer built from a model file. The file's per-DSP calibration gives each
// DSP's threshold (modelfile.DSP.OperatingThreshold with the DSP's settings) and its
// creation time the model's age (model.max_age). A Scorer that is not a Model has no
// thresholds: every DSP is sent unfiltered, with its score logged.
// predictor/serving.Scorer is the real one.
type Model interface {
	Scorer
	// File returns the model file, which the caller must not modify.
	File() *modelfile.File
}

// ModelLoader loads the model file at path and checks it completely (a file that does not
// validate, or that the serving code cannot score with, is an error): the gateway swaps a
// model in only once it is ready.
type ModelLoader func(path string) (Model, error)

// ScoreInput is one request's batch of (imp, DSP) pairs to score.
type ScoreInput struct {
	Request *openrtb2.BidRequest
	// Features has one row per imp of Request, extracted once by features.Extract; when
	// the privacy rules removed the user and device ids of some DSP's request, one more
	// row per imp follows (len(Request.Imp) + i for imp i), as that DSP's request reads
	// (user_id false), so that a DSP is scored on what it is sent.
	Features []features.Raw
	Pairs    []Pair
}

// Pair is one (imp, DSP) pair to score.
type Pair struct {
	// Imp is the pair's row in Features: the imp's index in Request.Imp, or that plus
	// len(Request.Imp) for a DSP whose ids the privacy rules removed.
	Imp int
	DSP string // the DSP's name
}

// PassThrough is the Scorer without a model: it has no opinion, so every eligible DSP
// gets the request (the decision is fail_open, or sent with shaping off). The gateway
// does not ask it for scores.
type PassThrough struct{}

// Score reports that there are no scores.
func (PassThrough) Score(context.Context, *ScoreInput, []float64) error { return errNoModel }

// Version is empty: no model.
func (PassThrough) Version() string { return "" }

// RequestScore combines per-imp probabilities into the request's score for a DSP:
// 1 - prod(1 - p_imp), the probability that it bids on at least one imp.
func RequestScore(p []float64) float64 {
	miss := 1.0
	for _, x := range p {
		miss *= 1 - min(max(x, 0), 1)
	}
	return 1 - miss
}
