package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Window is a window of simulated bid logs: `bidsieve simulate` of Profiles, Days days
// from Start, RequestsPerDay a day, drawn with Seed.
type Window struct {
	Profiles       string
	RequestsPerDay int
	Days           int
	Start          time.Time // a UTC day
	Seed           uint64
}

// Day is the layout of the days of a Window on the command line.
const Day = "2006-01-02"

// Next is the day after the window: the test day of the models trained on it.
func (w Window) Next() time.Time { return w.Start.AddDate(0, 0, w.Days) }

// Make writes the window's logs into dir with the binary of procs, unless dir already
// holds them (a .complete file, written last, says so): then it says so on out and
// keeps them.
func (w Window) Make(ctx context.Context, procs *Procs, dir string, out io.Writer) error {
	done := filepath.Join(dir, ".complete")
	if exists(done) {
		_, err := fmt.Fprintf(out, "reusing %s\n", dir)
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("simulated logs: %w", err)
	}
	err := procs.Run(ctx, out, os.Stderr, "simulate", "--profiles", w.Profiles, "--out", dir,
		"--requests", strconv.Itoa(w.RequestsPerDay), "--start", w.Start.Format(Day),
		"--days", strconv.Itoa(w.Days), "--seed", strconv.FormatUint(w.Seed, 10))
	if err != nil {
		return err
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return fmt.Errorf("simulated logs: %w", err)
	}
	return nil
}
