package training

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/training/internal/synthlog"
)

func TestTrainEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	writeSynthLogs(t, dir, synthStart, 3, 2500, 1, true, 0.1)
	res, err := Train(t.Context(), smallOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	f := res.File

	// The file is valid and survives the codec.
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, f); err != nil {
		t.Fatalf("write: %v", err)
	}
	back, err := modelfile.Read(&buf)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if back.Meta.Version != f.Meta.Version || len(back.DSPs) != 4 || back.Baselines == nil || back.Baselines.FTRL == nil {
		t.Fatalf("read back: version %q, %d DSPs, baselines %v", back.Meta.Version, len(back.DSPs), back.Baselines)
	}
	if !f.Meta.WindowStart.Equal(synthStart) || !f.Meta.WindowEnd.Equal(synthStart.Add(72*time.Hour)) {
		t.Errorf("window %v..%v", f.Meta.WindowStart, f.Meta.WindowEnd)
	}

	for _, name := range []string{"alpha", "bravo"} {
		d := f.DSPByName(name)
		if !d.OK || d.Threshold <= 0 {
			t.Errorf("%s: no threshold (%s)", name, d.Reason)
			continue
		}
		if d.RecallLower < 0.95 || d.Recall < d.RecallLower || d.FilteredShare <= 0.1 {
			t.Errorf("%s: recall %v, lower bound %v, filtered %v", name, d.Recall, d.RecallLower, d.FilteredShare)
		}
		if d.AUC < 0.7 {
			t.Errorf("%s: validation AUC %v, want > 0.7 on a learnable pattern", name, d.AUC)
		}
		if d.NegativeRate <= 0 || d.NegativeRate > 1 {
			t.Errorf("%s: no-bid rate %v", name, d.NegativeRate)
		}
		if th, ok := d.ThresholdFor(d.Target); !ok || th != d.Threshold {
			t.Errorf("%s: the curve gives threshold %v for the target, the file %v", name, th, d.Threshold)
		}
	}
	// bravo never bids on sites: the model learns it and filters them (about half).
	if d := f.DSPByName("bravo"); d.FilteredShare < 0.45 {
		t.Errorf("bravo filters %v of the traffic, want about half (sites)", d.FilteredShare)
	}
	for _, name := range []string{"rare", "mute"} {
		d := f.DSPByName(name)
		if d.OK || d.Reason == "" || d.Threshold != 0 || d.FilteredShare != 0 {
			t.Errorf("%s: OK %v, reason %q, threshold %v: want no threshold, with a reason", name, d.OK, d.Reason, d.Threshold)
		}
	}
	var rep bytes.Buffer
	if err := res.Report.Write(&rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alpha", "mute: no threshold, served unfiltered", "AUC FTRL", "lower bound"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, rep.String())
		}
	}
	t.Logf("\n%s", rep.String())

	// Deterministic for a seed: the same weights (hence version) again.
	res2, err := Train(t.Context(), smallOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if res2.File.Meta.Version != f.Meta.Version {
		t.Errorf("same seed, different models: %s vs %s", res2.File.Meta.Version, f.Meta.Version)
	}
	o := smallOptions(dir)
	o.Seed = 4
	o.MaxEpochs = 1
	res3, err := Train(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res3.File.Meta.Version == f.Meta.Version {
		t.Error("another seed gave the same model")
	}
}

func TestTrainBadInput(t *testing.T) {
	oneDay := t.TempDir()
	writeSynthLogs(t, oneDay, synthStart, 1, 50, 1, false, 0)
	notParquet := t.TempDir()
	if err := os.WriteFile(filepath.Join(notParquet, "x.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	noBids := t.TempDir()
	{
		// Two days where only mute and rare (no bids at this size) appear.
		saved := synthDSPs
		synthDSPs = []synthlog.DSP{saved[3]}
		writeSynthLogs(t, noBids, synthStart, 2, 30, 1, false, 0)
		synthDSPs = saved
	}
	cases := []struct {
		name, dir string
		want      string
	}{
		{"missing directory", filepath.Join(t.TempDir(), "nope"), "log directory"},
		{"empty directory", t.TempDir(), "no bid-log files"},
		{"not a parquet file", notParquet, "x.parquet"},
		{"one day only", oneDay, "one day only (2024-03-01)"},
		{"no bids", noBids, "no bids on the training days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Train(t.Context(), smallOptions(c.dir))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one that says %q", err, c.want)
			}
		})
	}
	if _, err := Train(t.Context(), Options{}); err == nil || !strings.Contains(err.Error(), "log directory: required") {
		t.Errorf("no directory: %v", err)
	}
	o := smallOptions(oneDay)
	o.RecallTarget = 1.5
	if _, err := Train(t.Context(), o); err == nil || !strings.Contains(err.Error(), "recall target") {
		t.Errorf("bad target: %v", err)
	}
	_, err := Train(t.Context(), smallOptions(t.TempDir()))
	if !errors.Is(err, ErrNoLogs) {
		t.Errorf("empty directory: %v does not wrap ErrNoLogs", err)
	}
}
