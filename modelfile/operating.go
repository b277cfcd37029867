package modelfile

// ThresholdSource says where the threshold in force for a DSP comes from.
type ThresholdSource uint8

// Threshold sources.
const (
	// ThresholdNone: no threshold; the DSP is sent everything (unfiltered).
	ThresholdNone ThresholdSource = iota
	// ThresholdOverride: set by hand (the DSP's threshold setting).
	ThresholdOverride
	// ThresholdRecallTarget: the curve's largest threshold whose recall lower bound meets
	// the recall target (ThresholdFor).
	ThresholdRecallTarget
)

// String returns "none", "threshold" or "recall_target" (the names the admin API shows).
func (s ThresholdSource) String() string {
	switch s {
	case ThresholdOverride:
		return "threshold"
	case ThresholdRecallTarget:
		return "recall_target"
	}
	return "none"
}

// OperatingThreshold is the one rule that turns a DSP's settings into the threshold in
// force; the gateway decides with it and the admin page shows it. override (the DSP's
// threshold setting), when set, wins; otherwise the model's ThresholdFor(recallTarget),
// when the model has a usable calibration for the DSP (OK) and the curve reaches the
// target. Otherwise there is no threshold: ThresholdNone, and the DSP is sent everything.
// d may be nil (a DSP the model does not know): ThresholdNone.
func (d *DSP) OperatingThreshold(override *float64, recallTarget float64) (float64, ThresholdSource) {
	switch {
	case d == nil:
		return 0, ThresholdNone
	case override != nil:
		return *override, ThresholdOverride
	case !d.OK:
		return 0, ThresholdNone
	}
	if t, ok := d.ThresholdFor(recallTarget); ok {
		return t, ThresholdRecallTarget
	}
	return 0, ThresholdNone
}
