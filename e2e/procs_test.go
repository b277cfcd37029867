package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSumMetric(t *testing.T) {
	page := `# HELP bidsieve_predictor_duration_seconds time scoring
# TYPE bidsieve_predictor_duration_seconds histogram
bidsieve_predictor_duration_seconds_bucket{le="0.001"} 3
bidsieve_predictor_duration_seconds_sum{dsp="a b"} 1.5
bidsieve_predictor_duration_seconds_sum{dsp="c"} 0.25 1712345678000
bidsieve_predictor_duration_seconds_sum_other 100
bidsieve_predictor_duration_seconds_count 7
`
	got, err := sumMetric(strings.NewReader(page), "bidsieve_predictor_duration_seconds_sum")
	if err != nil {
		t.Fatal(err)
	}
	if got != 1.75 {
		t.Errorf("sum = %v, want 1.75 (the two series, not the other metric)", got)
	}
	if got, err := sumMetric(strings.NewReader(page), "absent_total"); err != nil || got != 0 {
		t.Errorf("absent metric: %v, %v; want 0", got, err)
	}
	if _, err := sumMetric(strings.NewReader("x_total{a=\"b\"} many\n"), "x_total"); err == nil {
		t.Error("a value that is no number: no error")
	}
}

// fakeBin writes an executable script standing in for bidsieve: it appends its arguments
// to calls.txt and creates the directory after --out.
func fakeBin(t *testing.T) (bin, calls string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("a shell script stands in for the binary")
	}
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls.txt")
	bin = filepath.Join(dir, "bidsieve")
	script := "#!/bin/sh\necho \"$@\" >> " + calls + "\nwhile [ $# -gt 0 ]; do if [ \"$1\" = --out ]; then mkdir -p \"$2\"; fi; shift; done\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, calls
}

// A window is simulated once: the second Make finds it complete and keeps it.
func TestWindowIsMadeOnce(t *testing.T) {
	bin, calls := fakeBin(t)
	procs := &Procs{Bin: bin}
	w := Window{Profiles: "p.yaml", RequestsPerDay: 500, Days: 3, Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Seed: 4}
	dir := filepath.Join(t.TempDir(), "train")
	var out strings.Builder
	for range 2 {
		if err := w.Make(t.Context(), procs, dir, &out); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	want := "simulate --profiles p.yaml --out " + dir + " --requests 500 --start 2024-03-01 --days 3 --seed 4\n"
	if string(got) != want {
		t.Errorf("calls:\n%s\nwant one:\n%s", got, want)
	}
	if !strings.Contains(out.String(), "reusing "+dir) {
		t.Errorf("the second Make said %q, want that it reuses %s", out.String(), dir)
	}
	if next := w.Next().Format(Day); next != "2024-03-04" {
		t.Errorf("the day after the window: %s, want 2024-03-04", next)
	}
}

// Stop ends a running process with SIGTERM and is not an error; StopAll leaves none.
func TestProcsStop(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	procs := &Procs{Bin: sleep}
	a, err := procs.Start(nil, nil, "30")
	if err != nil {
		t.Fatal(err)
	}
	b, err := procs.Start(nil, nil, "30")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	procs.StopAll()
	select {
	case <-b.Done():
	default:
		t.Error("StopAll left a process running")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stopping took %v", d)
	}
	if err := procs.Run(t.Context(), nil, nil, "0"); err != nil {
		t.Errorf("Run of a process that exits 0: %v", err)
	}
	if err := procs.Run(t.Context(), nil, nil, "not-a-duration"); err == nil {
		t.Error("Run of a process that fails: no error")
	}
}
