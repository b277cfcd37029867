package bidlog

import "github.com/bidsieve/bidsieve/features"

// Decisions written in the `decision` column.
const (
	DecisionSent        = "sent"
	DecisionFiltered    = "filtered"
	DecisionExplored    = "explored"
	DecisionThrottled   = "throttled"
	DecisionBreakerOpen = "breaker_open"
	DecisionShadow      = "shadow"
	DecisionFailOpen    = "fail_open"
	// DecisionPrivacyBlocked: withheld by the publisher's privacy signals (package privacy):
	// no consent for the DSP under GDPR, or no IAB vendor id. Not sent, so not labelled.
	DecisionPrivacyBlocked = "privacy_blocked"
)

// Outcomes written in the `outcome` column.
const (
	OutcomeBid     = "bid"
	OutcomeNoBid   = "nobid"
	OutcomeTimeout = "timeout"
	OutcomeError   = "error"
	OutcomeNotSent = "not_sent"
)

// Row is one bid-log row: one (imp, DSP) pair considered by the gateway or drawn by the
// simulator. The column names and meanings are the contract of docs/DESIGN.md ("Bid log");
// training reads exactly these columns. Units: ts in Unix milliseconds, prices in CPM of
// the base currency, latency in milliseconds.
type Row struct {
	TS        int64  `parquet:"ts,delta"`
	RequestID string `parquet:"request_id"`
	ImpID     string `parquet:"imp_id,dict"`
	DSP       string `parquet:"dsp,dict"`

	// The features as extracted by features.Extract, one column per field of features.Raw
	// (country to tmax_ms, named by its parquet tags).
	features.Raw

	// Decision.
	Decision     string  `parquet:"decision,dict"`
	Propensity   float64 `parquet:"propensity"` // probability that the row was sent (1 for sent rows)
	Score        float64 `parquet:"score"`      // the request's score for this DSP, 1 - prod(1 - p_imp)
	Threshold    float64 `parquet:"threshold"`
	ModelVersion string  `parquet:"model_version,dict"`

	// Outcome.
	Outcome   string  `parquet:"outcome,dict"`
	BidCPM    float64 `parquet:"bid_cpm"`
	Won       bool    `parquet:"won"`
	ClearCPM  float64 `parquet:"clear_cpm"`
	LatencyMS float64 `parquet:"latency_ms"`

	// TrueP is the simulator's true bid probability; nil (a null) in the gateway's logs.
	TrueP *float64 `parquet:"true_p,optional"`
}

// SetFeatures copies the raw features into the row.
func (r *Row) SetFeatures(f *features.Raw) { r.Raw = *f }

// Features returns the raw features stored in the row.
func (r *Row) Features() features.Raw { return r.Raw }

// Labelled reports whether the row carries a label a model can learn from: the request
// reached the DSP (sent, explored, or sent to all in shadow or fail-open mode). Its label is
// Bid(): a timeout or an error counts as no bid received, which is what the publisher sees
// and what `true_p` measures.
func (r *Row) Labelled() bool {
	switch r.Decision {
	case DecisionSent, DecisionExplored, DecisionFailOpen, DecisionShadow:
		return true
	}
	return false
}

// Bid reports whether the DSP answered with a valid bid.
func (r *Row) Bid() bool { return r.Outcome == OutcomeBid }
