package retrain

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/internal/filetest"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/training/metrics"
)

func options(logs, model string) Options {
	return Options{LogDir: logs, ModelPath: model, WindowDays: 4,
		Rule:  Rule{Tolerance: 0.02, MinBids: 50},
		Train: smallTrain(),
		Now:   func() time.Time { return time.Date(2024, 3, 5, 6, 0, 0, 0, time.UTC) }}
}

func mustRun(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A challenger trained on the real log replaces a champion trained on shuffled labels;
// one trained on shuffled labels is refused against a real champion, which keeps serving.
func TestPromotesBetterRefusesWorse(t *testing.T) {
	good, bad := t.TempDir(), t.TempDir()
	spec := logSpec{start: synthStart, days: 4, perDay: 2500, seed: 1, lowP: 0.05, explore: 0.5}
	writeLogs(t, good, spec)
	spec.shuffleDays = 3 // the same held-out day, noise to train on
	writeLogs(t, bad, spec)
	models := t.TempDir()
	model := filepath.Join(models, "current.bsm")

	// No champion: the shuffled challenger is judged on the target alone.
	first := mustRun(t, options(bad, model))
	t.Logf("first run: %s %v", first.Entry.Status, first.Entry.Reasons)
	if !first.Promoted {
		// Shuffled labels may not even reach the target: then install nothing, and the
		// rest of the test needs a champion. Train one on shuffled labels at a low target.
		t.Fatalf("the first run (no champion) was refused: %v", first.Entry.Reasons)
	}
	weak := first.Entry.Version

	// A challenger trained on the real log against the shuffled champion: promoted. bravo
	// has a target of its own (a per-DSP shaping.recall_target): judged at it.
	o := options(good, model)
	o.Targets = map[string]float64{"bravo": 0.85}
	res := mustRun(t, o)
	for _, d := range res.Entry.DSPs {
		t.Logf("%s: %s %s", d.DSP, d.Verdict, d.Reason)
	}
	if !res.Promoted {
		t.Fatalf("the better challenger was refused: %v", res.Entry.Reasons)
	}
	if res.Entry.Champion != weak {
		t.Errorf("champion %q, want %q", res.Entry.Champion, weak)
	}
	f, err := modelfile.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if f.Meta.Version != res.Entry.Version {
		t.Errorf("model.path holds %s, want the promoted %s", f.Meta.Version, res.Entry.Version)
	}
	// The held-out day trained nothing: the challenger validated on its HalfValidate
	// requests, every one of them and no other (the judged half was not read).
	if want := res.Entry.HeldOutDay.Add(24 * time.Hour); !f.Meta.WindowEnd.Equal(want) {
		t.Errorf("challenger window ends %s, want the end of the held-out day %s", f.Meta.WindowEnd, want)
	}
	logRows, err := bidlog.ReadDir(good)
	if err != nil {
		t.Fatal(err)
	}
	valRows, judged := map[string]int64{}, int64(0)
	for i := range logRows {
		r := &logRows[i]
		if !r.Labelled() || time.UnixMilli(r.TS).Before(res.Entry.HeldOutDay) {
			continue
		}
		if metrics.HalfValidate.Keeps(metrics.RequestKey(r.RequestID)) {
			valRows[r.DSP]++
		} else {
			judged++
		}
	}
	// And it was judged on the other half, all of it.
	if res.Entry.HeldOutRows != judged || judged == 0 {
		t.Errorf("judged on %d held-out rows, want the other half's %d", res.Entry.HeldOutRows, judged)
	}
	for _, d := range f.DSPs {
		if d.ValRows != valRows[d.Name] || d.ValRows == 0 {
			t.Errorf("%s validated on %d rows, want the held-out day's validation half, %d", d.Name, d.ValRows, valRows[d.Name])
		}
	}
	if want := synthStart.AddDate(0, 0, 3); !res.Entry.HeldOutDay.Equal(want) {
		t.Errorf("held-out day %s, want the newest, %s", res.Entry.HeldOutDay, want)
	}
	dir := modelhistory.Dir(model)
	for _, p := range []string{modelhistory.ModelPath(dir, res.Entry.Version), modelhistory.EntryPath(dir, res.Entry.Version),
		modelhistory.ModelPath(dir, weak)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("history: %v", err)
		}
	}

	// The shuffled challenger against the real champion: refused, the champion untouched.
	for _, d := range res.Entry.DSPs {
		if want := map[string]float64{"alpha": 0.9, "bravo": 0.85}[d.DSP]; d.Target != want {
			t.Errorf("%s judged at target %v, want %v", d.DSP, d.Target, want)
		}
	}
	before := filetest.Read(t, model)
	o = options(bad, model)
	o.Train.Seed = 4 // not the first run's weights again
	res = mustRun(t, o)
	if res.Promoted {
		t.Fatalf("the worse challenger was promoted: %+v", res.Entry.DSPs)
	}
	if !bytes.Equal(before, filetest.Read(t, model)) {
		t.Error("a refusal changed model.path")
	}
	if len(res.Entry.Reasons) == 0 || res.Entry.Status != modelhistory.StatusRefused {
		t.Errorf("refusal without reasons: %+v", res.Entry)
	}
	var failed bool
	for _, d := range res.Entry.DSPs {
		if d.Verdict == modelhistory.VerdictFail && d.Reason != "" {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no DSP says why: %+v", res.Entry.DSPs)
	}
	e, err := modelhistory.Read(dir, res.Entry.Version)
	if err != nil || e.Status != modelhistory.StatusRefused || e.HasModel {
		t.Errorf("history of the refusal: %+v, %v", e, err)
	}
	list, err := modelhistory.List(dir)
	if err != nil || len(list) != 3 {
		t.Errorf("history lists %d entries (%v), want 3 (baseline-less first promotion, promotion, refusal)", len(list), err)
	}

	// A promotion compared with a champion that is no longer in force installs nothing
	// (a rollback or another promotion came between).
	if _, err := modelhistory.Promote(dir, weak, model, "m-someone-else"); !errors.Is(err, modelhistory.ErrChampionChanged) {
		t.Errorf("promotion over a changed champion: %v, want ErrChampionChanged", err)
	}
	if !bytes.Equal(before, filetest.Read(t, model)) {
		t.Error("a promotion over a changed champion replaced model.path")
	}

	// Rollback: the first version's file goes back over model.path, whole.
	if _, err := modelhistory.Install(dir, weak, model); err != nil {
		t.Fatal(err)
	}
	if f, err := modelfile.ReadFile(model); err != nil || f.Meta.Version != weak {
		t.Errorf("after rollback model.path holds %v (%v), want %s", f, err, weak)
	}
	if _, err := modelhistory.Install(dir, "m-nope", model); !errors.Is(err, modelhistory.ErrUnknownVersion) {
		t.Errorf("rollback to an unknown version: %v", err)
	}
	// A refused version has no model file: not installable either.
	if _, err := modelhistory.Install(dir, res.Entry.Version, model); !errors.Is(err, modelhistory.ErrUnknownVersion) {
		t.Errorf("rollback to a refused version: %v", err)
	}
}

// A truncated bid-log file stops the run with an error naming it; the champion stays.
func TestCorruptLogKeepsChampion(t *testing.T) {
	logs := t.TempDir()
	writeLogs(t, logs, logSpec{start: synthStart, days: 3, perDay: 600, seed: 2, lowP: 0.05, explore: 0.2})
	models := t.TempDir()
	model := filepath.Join(models, "current.bsm")
	if err := os.WriteFile(model, []byte("champion bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(logs, "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no log files")
	}
	data := filetest.Read(t, files[len(files)-1])
	bad := filepath.Join(logs, "zz-truncated.parquet")
	if err := os.WriteFile(bad, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(t.Context(), options(logs, model))
	if err == nil || !errors.Is(err, ErrBadLog) || !strings.Contains(err.Error(), "zz-truncated.parquet") {
		t.Fatalf("err = %v, want ErrBadLog naming the file", err)
	}
	if got := filetest.Read(t, model); string(got) != "champion bytes" {
		t.Error("the champion was replaced")
	}
	if list, _ := modelhistory.List(modelhistory.Dir(model)); len(list) != 0 {
		t.Errorf("history after a failed run: %+v", list)
	}
}

// While another process holds the retrain lock, a run refuses at once and installs nothing.
func TestLockRefusesConcurrentRun(t *testing.T) {
	model := filepath.Join(t.TempDir(), "current.bsm")
	unlock, err := modelhistory.LockRun(modelhistory.Dir(model))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(t.Context(), options(t.TempDir(), model))
	if !errors.Is(err, modelhistory.ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if _, err := os.Stat(model); !os.IsNotExist(err) {
		t.Errorf("model.path written while locked: %v", err)
	}
	unlock()
	// Released: the next run gets past the lock (and fails on the empty log instead).
	if _, err := Run(t.Context(), options(t.TempDir(), model)); errors.Is(err, modelhistory.ErrLocked) {
		t.Fatal("the lock was not released")
	}
}

// With Until (`retrain --until`, a gateway on a simulated clock whose log runs into a day
// not over yet), the held-out day is the last whole day before Until's day, not the
// newest day of the log; a window before every row is an error naming the date.
func TestUntilEndsTheWindow(t *testing.T) {
	logs := t.TempDir()
	writeLogs(t, logs, logSpec{start: synthStart, days: 5, perDay: 1500, seed: 4, lowP: 0.05, explore: 0.5})
	model := filepath.Join(t.TempDir(), "current.bsm")
	o := options(logs, model)
	o.WindowDays = 3
	o.Until = synthStart.AddDate(0, 0, 4).Add(7 * time.Hour) // day 4 is under way
	res := mustRun(t, o)
	e := &res.Entry
	if want := synthStart.AddDate(0, 0, 3); !e.HeldOutDay.Equal(want) {
		t.Errorf("held-out day %s, want %s (the day before --until's)", e.HeldOutDay, want)
	}
	if want := synthStart.AddDate(0, 0, 1); !e.WindowStart.Equal(want) {
		t.Errorf("window starts %s, want %s", e.WindowStart, want)
	}
	plain := mustRun(t, options(logs, filepath.Join(t.TempDir(), "current.bsm")))
	if want := synthStart.AddDate(0, 0, 4); !plain.Entry.HeldOutDay.Equal(want) {
		t.Errorf("without --until: held-out day %s, want the newest day %s", plain.Entry.HeldOutDay, want)
	}

	o.Until = synthStart.Add(5 * time.Hour) // no whole day before it
	if _, err := Run(t.Context(), o); err == nil || !strings.Contains(err.Error(), "2024-03-01") {
		t.Errorf("window before every row: err %v, want one naming 2024-03-01", err)
	}
}
