package health

import (
	"testing"
	"time"
)

// BenchmarkAllowReport is the per-call cost on a healthy DSP: Allow, then Report of a
// success.
func BenchmarkAllowReport(b *testing.B) {
	br, _, _ := newBreaker(b, nil)
	o := Outcome{Result: Success, Timeout: dspTimeout, Planned: t0, Started: t0, Deadline: t0.Add(dspTimeout)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o.Ended = t0.Add(time.Duration(i) * time.Microsecond)
		if br.Allow().Sends() {
			br.Report(&o)
		}
	}
}

// BenchmarkAllowReportParallel is the same from every core at once, on one DSP.
func BenchmarkAllowReportParallel(b *testing.B) {
	br, _, _ := newBreaker(b, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		o := Outcome{Result: Success, Timeout: dspTimeout, Planned: t0, Started: t0, Deadline: t0.Add(dspTimeout), Ended: t0}
		for pb.Next() {
			o.Ended = o.Ended.Add(time.Microsecond)
			if br.Allow().Sends() {
				br.Report(&o)
			}
		}
	})
}

// BenchmarkAllowOpen is Allow on an open breaker: the trial-share pick.
func BenchmarkAllowOpen(b *testing.B) {
	br, _, _ := newBreaker(b, nil)
	for i := range 100 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		o := Outcome{Result: Failure, Started: at, Ended: at}
		br.Report(&o)
	}
	if br.State() != Open {
		b.Fatal("not open")
	}
	b.ReportAllocs()
	for b.Loop() {
		br.Allow()
	}
}
