package features

import (
	"testing"
)

// BenchmarkExtract extracts every imp of the fixture requests (testdata/requests).
func BenchmarkExtract(b *testing.B) {
	reqs := fixtureRequests(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, req := range reqs {
			for i := range req.Imp {
				_ = Extract(req, &req.Imp[i], goldenNow, goldenConv)
			}
		}
	}
}

// BenchmarkEncode encodes every fixture imp for one DSP with the golden spec.
func BenchmarkEncode(b *testing.B) {
	rows := goldenRows(b)
	e, err := NewEncoder(goldenSpec(b, rows))
	if err != nil {
		b.Fatal(err)
	}
	cats := make([]int32, NumCategorical())
	conts := make([]float32, NumContinuous())
	b.ReportAllocs()
	for b.Loop() {
		for i := range rows {
			e.Encode(&rows[i].Raw, "alpha", cats, conts)
		}
	}
}

// BenchmarkSpecBuilderAdd counts every fixture imp for one DSP, as training's first pass does.
func BenchmarkSpecBuilderAdd(b *testing.B) {
	rows := goldenRows(b)
	sb := NewSpecBuilder()
	b.ReportAllocs()
	for b.Loop() {
		for i := range rows {
			sb.Add(&rows[i].Raw, "alpha", 1)
		}
	}
}
