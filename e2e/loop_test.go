package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim/simtest"
	"github.com/bidsieve/bidsieve/training"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// smallLoop is the loop at test scale: a small network, few requests, 4 served days with
// the change on day 1 and the new DSP on day 2.
func smallLoop(t *testing.T) *Loop {
	return &Loop{
		Dir: t.TempDir(), Profiles: readFile(t, simtest.ExamplePath()),
		Changes: readFile(t, "testdata/loop/change.yaml"), Added: readFile(t, "testdata/loop/add.yaml"),
		Start: time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC), Days: 4, WarmDays: 3, PerDay: 4000,
		Phases: []int{2, 8, 14, 20}, Span: 30 * time.Minute, ChangeDay: 1, AddDay: 2, Seed: 1,
		RecallTarget: 0.9, ExplorationRate: 0.1, DriftAfter: 5 * time.Minute, WindowDays: 3,
		Train: training.Options{MaxEpochs: 3, Net: training.NetConfig{Hidden: []int{32, 16}, BatchSize: 256, LearningRate: 3e-3}},
		MaxInFlight: 16,
	}
}

func TestLoopSmall(t *testing.T) {
	l := smallLoop(t)
	var out strings.Builder
	l.Out = &out
	rep, err := l.Run(t.Context())
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	_ = rep
}
