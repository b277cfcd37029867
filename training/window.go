package training

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/training/metrics"
)

// dayMS is one UTC day in milliseconds.
const dayMS = 24 * 60 * 60 * 1000

// window is the set of bid-log files training reads, and its split in time: every UTC
// day before the last one trains, the last day validates.
type window struct {
	dir      string
	files    []bidlog.FileInfo
	firstDay int64 // UTC day numbers (days since the Unix epoch)
	valDay   int64
	// fromMS and toMS bound the rows kept: fromMS <= ts < toMS.
	fromMS, toMS int64
	valHalf      metrics.Half // the requests of the validation day kept (Options.ValHalf)
}

func utcDay(tsMS int64) int64 {
	d := tsMS / dayMS
	if tsMS%dayMS < 0 {
		d--
	}
	return d
}

func dayTime(day int64) time.Time { return time.UnixMilli(day * dayMS).UTC() }

// ErrNoLogs is returned when the log directory holds no bid-log file.
var ErrNoLogs = errors.New("no bid-log files")

// openWindow lists the files of dir that hold rows in [since, until) (zero bounds are
// open) and splits the days. It fails with a message naming the problem for a missing or
// unreadable directory, a directory without bid-log files, and logs that cover a single
// day (nothing would be left to validate on).
func openWindow(dir string, since, until time.Time) (*window, error) {
	files, err := bidlog.ListDir(dir)
	if err != nil {
		return nil, err
	}
	w := &window{dir: dir, fromMS: math.MinInt64, toMS: math.MaxInt64}
	if !since.IsZero() {
		w.fromMS = since.UnixMilli()
	}
	if !until.IsZero() {
		w.toMS = until.UnixMilli()
	}
	var nonEmpty []bidlog.FileInfo
	for _, f := range files {
		if f.Rows > 0 && f.MaxTS >= w.fromMS && f.MinTS < w.toMS {
			nonEmpty = append(nonEmpty, f)
		}
	}
	if len(nonEmpty) == 0 {
		if !since.IsZero() || !until.IsZero() {
			return nil, fmt.Errorf("%w (*.parquet with rows) in %s between %s and %s", ErrNoLogs, dir,
				since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
		}
		return nil, fmt.Errorf("%w (*.parquet with rows) in %s", ErrNoLogs, dir)
	}
	w.files = nonEmpty
	minTS, maxTS := max(nonEmpty[0].MinTS, w.fromMS), min(nonEmpty[0].MaxTS, w.toMS-1)
	for _, f := range nonEmpty {
		minTS = min(minTS, max(f.MinTS, w.fromMS))
		maxTS = max(maxTS, min(f.MaxTS, w.toMS-1))
	}
	w.firstDay, w.valDay = utcDay(minTS), utcDay(maxTS)
	if w.firstDay == w.valDay {
		return nil, fmt.Errorf("the logs in %s cover one day only (%s): training needs at least two days, "+
			"the last one to validate on and the earlier ones to train on", dir, dayTime(w.valDay).Format("2006-01-02"))
	}
	return w, nil
}

// isVal reports whether a row of time ts (ms) belongs to the validation day.
func (w *window) isVal(ts int64) bool { return utcDay(ts) >= w.valDay }

// scan streams every row of the window to fn, in file order, batch by batch. Decoding
// runs in a goroutine of its own, ahead of fn, so that the two overlap on two cores.
func (w *window) scan(ctx context.Context, fn func(rows []bidlog.Row) error) error {
	const depth = 3 // batches in flight
	type batch struct {
		rows []bidlog.Row
		err  error
	}
	full := make(chan batch, depth)
	free := make(chan []bidlog.Row, depth+1)
	for i := 0; i < depth+1; i++ {
		free <- make([]bidlog.Row, 4096)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(full)
		r := bidlog.NewReader(w.files)
		defer func() { _ = r.Close() }()
		for {
			var buf []bidlog.Row
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := r.Read(buf)
			if errors.Is(err, io.EOF) {
				err = nil
				if n == 0 {
					return
				}
			}
			select {
			case full <- batch{rows: buf[:n], err: err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for b := range full {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.err != nil {
			return fmt.Errorf("read bid log: %w", b.err)
		}
		rows := b.rows
		if w.fromMS != math.MinInt64 || w.toMS != math.MaxInt64 || w.valHalf != metrics.HalfAll {
			rows = w.clip(rows)
		}
		if len(rows) > 0 {
			if err := fn(rows); err != nil {
				return err
			}
		}
		free <- b.rows[:cap(b.rows)]
	}
	return ctx.Err()
}

// clip keeps, in place, the rows of the window's time range, and of the validation day
// those of its half.
func (w *window) clip(rows []bidlog.Row) []bidlog.Row {
	n := 0
	for i := range rows {
		r := &rows[i]
		if r.TS >= w.fromMS && r.TS < w.toMS &&
			(w.valHalf == metrics.HalfAll || !w.isVal(r.TS) || w.valHalf.Keeps(metrics.RequestKey(r.RequestID))) {
			if n != i {
				rows[n] = rows[i]
			}
			n++
		}
	}
	return rows[:n]
}

// totalRows is the number of rows in the window's files (from their footers).
func (w *window) totalRows() int64 {
	var n int64
	for _, f := range w.files {
		n += f.Rows
	}
	return n
}
