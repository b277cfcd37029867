// Package modelfile defines the bidsieve model file (docs/DESIGN.md, "Model file"): the feature
// spec and its hash, the network's float32 weights, per-DSP validation curves and
// thresholds, and the training metadata. Training writes it; the predictor reads it.
//
// The types here are plain data. Units: thresholds, recalls and shares are fractions in
// [0, 1]; times are UTC.
package modelfile

import (
	"time"

	"github.com/bidsieve/bidsieve/features"
)

// FormatVersion is the version of the file layout written by this build. Readers refuse
// any other version.
const FormatVersion = 1

// File is a whole model file.
type File struct {
	FormatVersion int `json:"format_version"`
	// Spec is the feature spec the network was trained with; SpecHash is Spec.Hash() at
	// training time. Serving refuses a file whose SpecHash is not features.DefinitionHash().
	Spec     features.Spec `json:"spec"`
	SpecHash string        `json:"spec_hash"`
	Net      Network       `json:"-"`
	// DSPs holds the calibration of each DSP seen in training, sorted by name.
	DSPs []DSP    `json:"dsps"`
	Meta Metadata `json:"meta"`
	// Baselines are optional reference models trained on the same window, which
	// `bidsieve evaluate` scores beside the network. Serving ignores them.
	Baselines *Baselines `json:"baselines,omitempty"`
}

// Network is the entity-embedding network: one embedding table per categorical feature
// (in Spec order), the embeddings concatenated with the continuous inputs, then Layers
// applied in order with ReLU after every layer but the last. The last layer has 2 outputs
// (no-bid, bid) followed by log-softmax: log P(bid) = z1 - logsumexp(z0, z1).
type Network struct {
	// Embeddings[i] has Spec.Features[i].Cardinality() rows (row 0 is the out-of-vocabulary
	// bucket) and Spec.Features[i].EmbDim columns.
	Embeddings []Matrix
	// Layers are the dense layers: In = the previous width, hidden sizes 1000 and 500 by
	// default, then Out = 2.
	Layers []Dense
}

// Matrix is a dense row-major float32 matrix.
type Matrix struct {
	Rows, Cols int
	Data       []float32 // len Rows*Cols; element (i, j) at Data[i*Cols+j]
}

// Dense is y = x W + B for a row vector x: W has In rows and Out columns.
type Dense struct {
	W Matrix
	B []float32 // len W.Cols
}

// DSP is the calibration of one DSP, computed on the validation day.
type DSP struct {
	Name string `json:"name"`
	// LogitOffset is added to the network's bid logit (z1 - z0) to undo the downsampling of
	// no-bids in training: ln(NegativeRate) when no-bids were kept at NegativeRate. After it
	// the probability is calibrated on the full traffic.
	LogitOffset  float64 `json:"logit_offset"`
	NegativeRate float64 `json:"negative_rate"`
	// Curve is the validation curve, sorted by Threshold ascending: at Threshold t, the
	// requests with score >= t are sent. Recall is the point estimate on the validation day,
	// RecallLower its one-sided lower confidence bound at Meta.Confidence.
	Curve []CurvePoint `json:"curve"`
	// Target is the recall target the model was trained for and Threshold the one chosen
	// for it (the largest threshold whose RecallLower >= Target). Threshold is meaningful
	// only when OK; otherwise the DSP is served unfiltered and Reason says why.
	Target    float64 `json:"target"`
	Threshold float64 `json:"threshold"`
	OK        bool    `json:"ok"`
	Reason    string  `json:"reason,omitempty"`
	// Validation-day figures at Threshold.
	ValRows       int64   `json:"val_rows"`
	ValBids       int64   `json:"val_bids"`
	Recall        float64 `json:"recall"`
	RecallLower   float64 `json:"recall_lower"`
	FilteredShare float64 `json:"filtered_share"`
	AUC           float64 `json:"auc"`
	BoundWidth    float64 `json:"bound_width"` // Recall - RecallLower at Threshold
}

// CurvePoint is one point of a DSP's validation curve.
type CurvePoint struct {
	Threshold     float64 `json:"threshold"`
	Recall        float64 `json:"recall"`
	RecallLower   float64 `json:"recall_lower"`
	FilteredShare float64 `json:"filtered_share"`
}

// Metadata describes how the model was made.
type Metadata struct {
	Version      string    `json:"version"` // model version, logged in every bid-log row
	CreatedAt    time.Time `json:"created_at"`
	WindowStart  time.Time `json:"window_start"` // first day of training data (UTC midnight)
	WindowEnd    time.Time `json:"window_end"`   // end of the validation day (exclusive)
	TrainRows    int64     `json:"train_rows"`
	ValRows      int64     `json:"val_rows"`
	NegativeRate float64   `json:"negative_rate"` // default no-bid keep rate
	RecallTarget float64   `json:"recall_target"`
	Confidence   float64   `json:"confidence"` // level of the recall lower bounds, e.g. 0.95
	Seed         int64     `json:"seed"`
	Epochs       int       `json:"epochs"`
	TrainSeconds float64   `json:"train_seconds"`
	Hidden       []int     `json:"hidden"`
	Dropout      float64   `json:"dropout"`
	// Metrics are free-form figures of the training report (validation loss, AUC, ...).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Builder is the bidsieve build that trained the model.
	Builder string `json:"builder,omitempty"`
}

// DSPByName returns the calibration of a DSP, or nil.
func (f *File) DSPByName(name string) *DSP {
	for i := range f.DSPs {
		if f.DSPs[i].Name == name {
			return &f.DSPs[i]
		}
	}
	return nil
}

// ThresholdFor returns the largest curve threshold whose recall lower bound is at least
// target, and whether one exists. An account manager's new recall target goes through it.
func (d *DSP) ThresholdFor(target float64) (float64, bool) {
	best, ok := 0.0, false
	for _, p := range d.Curve {
		if p.RecallLower >= target && (!ok || p.Threshold > best) {
			best, ok = p.Threshold, true
		}
	}
	return best, ok
}

// PointAt returns the curve point of the largest threshold <= t: what sending at
// threshold t is expected to give. With no such point it returns the send-everything point.
func (d *DSP) PointAt(t float64) CurvePoint {
	p := CurvePoint{Threshold: 0, Recall: 1, RecallLower: 1, FilteredShare: 0}
	for _, c := range d.Curve {
		if c.Threshold <= t {
			p = c
		}
	}
	return p
}

// Baselines are the reference models the network must beat (issue 4): a hashed
// FTRL-Proximal logistic regression and a historical bid rate by (DSP, publisher, format).
type Baselines struct {
	FTRL     *FTRL     `json:"ftrl,omitempty"`
	HistRate *HistRate `json:"hist_rate,omitempty"`
}

// FTRL is a logistic regression on hashed binary features, trained with FTRL-Proximal
// (per-coordinate adaptive rates, L1 and L2). Every feature group of Groups (names of raw
// features, or "floor_bucket" for round(4 ln(1 + floor_cpm))) is hashed together with the
// DSP, so each DSP has its own weights: P(bid) = sigmoid(sum of the weights of the row's
// buckets). Hashing: FNV-1a 64 of the DSP, the group index and the group's values, modulo
// 2^Bits (see package training/baseline).
type FTRL struct {
	Bits   int        `json:"bits"`
	Groups [][]string `json:"groups"`
	// Hyper-parameters, for the record.
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
	L1    float64 `json:"l1"`
	L2    float64 `json:"l2"`
	// The non-zero weights: bucket Index[i] has weight Weight[i]; Index ascending.
	Index  []uint32  `json:"index"`
	Weight []float32 `json:"weight"`
}

// HistRate is the bid rate of each (DSP, publisher, format) in the training window,
// shrunk towards the rate of (DSP, publisher), itself shrunk towards the DSP's rate, with
// Prior pseudo-rows at each level.
type HistRate struct {
	Prior float64    `json:"prior"`
	Cells []HistCell `json:"cells"`
}

// HistCell counts the (weighted) rows and bids of one key. Level 0 keys are a DSP, level 1
// a DSP and a publisher, level 2 a DSP, a publisher and a format.
type HistCell struct {
	Level     int     `json:"l"`
	DSP       string  `json:"d"`
	Publisher string  `json:"p,omitempty"`
	Format    string  `json:"f,omitempty"`
	Rows      float64 `json:"n"`
	Bids      float64 `json:"b"`
}
