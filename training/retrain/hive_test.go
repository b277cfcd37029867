package retrain

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/bidlog/kafkalog"
)

// A fleet's bid log, as `bidsieve bidlog-sink` writes it (Hive folders dt=YYYY-MM-DD/
// hour=HH/ under bidlog.dir, beside a file being written, a dot-file), trains and judges
// the same challenger as the same rows in one flat folder: the same window, the same
// training and held-out rows, the same verdicts.
func TestRetrainReadsTheHiveLayout(t *testing.T) {
	flat, hive := t.TempDir(), t.TempDir()
	spec := logSpec{start: synthStart, days: 4, perDay: 1500, seed: 3, lowP: 0.05, explore: 0.5}
	writeLogs(t, flat, spec)
	files, err := bidlog.ListFiles(flat)
	if err != nil || len(files) != 4 {
		t.Fatalf("flat log: %d files (%v), want one a day", len(files), err)
	}
	for _, f := range files {
		dir := filepath.Join(hive, filepath.FromSlash(kafkalog.HourDir(f.MinTS)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bids-0-"+filepath.Base(f.Path)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What a sink leaves beside its files: one being written, a marker.
	last := filepath.Join(hive, filepath.FromSlash(kafkalog.HourDir(files[3].MinTS)))
	if err := os.WriteFile(filepath.Join(last, ".bids-0-00000000000000000099.parquet.tmp"), []byte("PAR1 half"), 0o644); err != nil {
		t.Fatal(err)
	}

	want := mustRun(t, options(flat, filepath.Join(t.TempDir(), "current.bsm")))
	got := mustRun(t, options(hive, filepath.Join(t.TempDir(), "current.bsm")))
	if got.Entry.TrainRows == 0 || got.Entry.TrainRows != want.Entry.TrainRows || got.Entry.HeldOutRows != want.Entry.HeldOutRows ||
		!got.Entry.HeldOutDay.Equal(want.Entry.HeldOutDay) || !got.Entry.WindowStart.Equal(want.Entry.WindowStart) {
		t.Fatalf("Hive layout: window %s..%s, %d train / %d held-out rows; flat: %s..%s, %d / %d",
			got.Entry.WindowStart, got.Entry.HeldOutDay, got.Entry.TrainRows, got.Entry.HeldOutRows,
			want.Entry.WindowStart, want.Entry.HeldOutDay, want.Entry.TrainRows, want.Entry.HeldOutRows)
	}
	if got.Promoted != want.Promoted || len(got.Entry.DSPs) != len(want.Entry.DSPs) {
		t.Fatalf("Hive layout promoted %v with %d DSPs, flat %v with %d", got.Promoted, len(got.Entry.DSPs), want.Promoted, len(want.Entry.DSPs))
	}
	for i, d := range got.Entry.DSPs {
		if w := want.Entry.DSPs[i]; d.DSP != w.DSP || d.Verdict != w.Verdict {
			t.Errorf("%s: %s on the Hive layout, %s %s flat", d.DSP, d.Verdict, w.DSP, w.Verdict)
		}
	}
}
