package modelfile

import "testing"

func TestOperatingThreshold(t *testing.T) {
	curve := []CurvePoint{
		{Threshold: 0.01, Recall: 0.995, RecallLower: 0.99},
		{Threshold: 0.05, Recall: 0.97, RecallLower: 0.96},
		{Threshold: 0.10, Recall: 0.93, RecallLower: 0.91},
	}
	ok := &DSP{Name: "a", Curve: curve, OK: true, Target: 0.95, Threshold: 0.05}
	notOK := &DSP{Name: "b", Curve: curve, OK: false, Reason: "too few bids"}
	override := 0.2
	tests := []struct {
		name     string
		d        *DSP
		override *float64
		target   float64
		want     float64
		src      ThresholdSource
	}{
		{"target on the curve", ok, nil, 0.95, 0.05, ThresholdRecallTarget},
		{"higher target, lower threshold", ok, nil, 0.99, 0.01, ThresholdRecallTarget},
		{"target beyond the curve", ok, nil, 0.999, 0, ThresholdNone},
		{"override wins", ok, &override, 0.95, 0.2, ThresholdOverride},
		{"override wins without calibration", notOK, &override, 0.95, 0.2, ThresholdOverride},
		{"no usable calibration", notOK, nil, 0.95, 0, ThresholdNone},
		{"unknown DSP", nil, &override, 0.95, 0, ThresholdNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src := tt.d.OperatingThreshold(tt.override, tt.target)
			if got != tt.want || src != tt.src {
				t.Errorf("got %v (%s), want %v (%s)", got, src, tt.want, tt.src)
			}
		})
	}
}
