package loadtest

import (
	"testing"

	"github.com/bidsieve/bidsieve/dsp/sim"
)

// BenchmarkProfilesStream is the cost of making one request from the simulator's traffic
// (draw and JSON encoding): what the run would spend on the scheduling core for each
// request if requests were not made before the clock starts (schedule's preMadeBytes).
func BenchmarkProfilesStream(b *testing.B) {
	p, err := sim.Load("../dsp/sim/testdata/example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	next := Profiles{Traffic: p.Traffic}.Stream(1)
	b.ReportAllocs()
	var bytes int
	for b.Loop() {
		bytes += len(next().Body)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "body-bytes/op")
}
