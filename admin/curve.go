package admin

import (
	"fmt"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
)

// pointView is a point of a validation curve: at Threshold, the expected share of bids
// kept (Recall, with its lower confidence bound) and the share of traffic withheld.
type pointView struct {
	Threshold   float64 `json:"threshold"`
	Recall      float64 `json:"recall"`
	RecallLower float64 `json:"recall_lower"`
	Withheld    float64 `json:"withheld"`
}

// operatingPoint is where a DSP's settings put it on its curve.
type operatingPoint struct {
	pointView
	// Source says where the threshold comes from: "threshold" (set by hand),
	// "recall_target" (the curve's largest threshold whose lower recall bound meets the
	// target) or "none" (no threshold: everything is sent).
	Source string `json:"source"`
	// Filtering is false when the DSP is sent everything whatever the point says (mode
	// shadow or off, or paused); Note says why, or why there is no threshold.
	Filtering bool   `json:"filtering"`
	Note      string `json:"note,omitempty"`
}

// sendAll is the point of sending everything.
var sendAll = pointView{Threshold: 0, Recall: 1, RecallLower: 1, Withheld: 0}

func viewPoint(p modelfile.CurvePoint) pointView {
	return pointView{Threshold: p.Threshold, Recall: p.Recall, RecallLower: p.RecallLower, Withheld: p.FilteredShare}
}

// pointFor returns the operating point of a DSP with shaping sh on the curve of md: the
// threshold in force (modelfile.DSP.OperatingThreshold, the rule the gateway decides with)
// and what the curve expects at it.
func pointFor(md *modelfile.DSP, sh config.DSPShaping, enabled bool) operatingPoint {
	var op operatingPoint
	t, src := md.OperatingThreshold(sh.Threshold, sh.RecallTarget)
	op.Source = src.String()
	switch {
	case src != modelfile.ThresholdNone:
		op.pointView = viewPoint(md.PointAt(t))
		op.Threshold = t
	case !md.OK:
		op.pointView = sendAll
		op.Note = "the model has no threshold for this DSP (" + md.Reason + "): everything is sent"
	default:
		op.pointView = sendAll
		op.Note = fmt.Sprintf("no threshold on the curve keeps recall >= %g with confidence: everything is sent", sh.RecallTarget)
	}
	op.Filtering = op.Source != "none"
	switch {
	case !enabled:
		op.Filtering, op.Note = false, "paused: the DSP gets no traffic"
	case sh.Mode == config.ModeShadow:
		op.Filtering, op.Note = false, "shadow mode: decisions are logged, everything is sent"
	case sh.Mode == config.ModeOff:
		op.Filtering, op.Note = false, "mode off: everything is sent, no model"
	}
	return op
}
