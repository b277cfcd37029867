package bidlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Footer metadata keys written in every file: the time range (Unix ms) and row count, so
// that ListFiles can describe a file from its footer alone.
const (
	metaFormat = "bidsieve.bidlog.format"
	metaMinTS  = "bidsieve.bidlog.min_ts"
	metaMaxTS  = "bidsieve.bidlog.max_ts"
	metaRows   = "bidsieve.bidlog.rows"

	formatVersion = "1"
)

// Defaults of WriterOptions.
const (
	DefaultPrefix       = "bidlog"
	DefaultMaxFileBytes = 256 << 20
	DefaultFileSpan     = time.Hour
	DefaultRowGroupRows = 1 << 18
)

// WriterOptions tunes a Writer. The zero value gives the defaults.
type WriterOptions struct {
	// Prefix starts every file name; DefaultPrefix when empty. Writers sharing a directory
	// should use different prefixes.
	Prefix string
	// MaxFileBytes rolls the file once its estimated size reaches it (an estimate made
	// before compression, so files come out smaller). DefaultMaxFileBytes when 0.
	MaxFileBytes int64
	// FileSpan rolls by time: a file only holds rows whose ts falls in one window of this
	// length, windows aligned on the Unix epoch (UTC), so with a span of a day or a divisor
	// of it no file crosses a UTC day boundary. Row time, not wall time, decides: the
	// same rows always give the same files. DefaultFileSpan when 0.
	FileSpan time.Duration
	// RowGroupRows bounds a Parquet row group, and so the memory a writer holds (about
	// one compressed row group). DefaultRowGroupRows when 0.
	RowGroupRows int64
}

func (o WriterOptions) withDefaults() WriterOptions {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.FileSpan <= 0 {
		o.FileSpan = DefaultFileSpan
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	return o
}

// WriterStats counts what a Writer has published (files closed and renamed into place).
type WriterStats struct {
	Files int   // files published
	Rows  int64 // rows in published files
	Bytes int64 // bytes of published files
}

// Writer writes rows into rolling Parquet files in one directory.
//
// A file is written under a hidden temporary name (".PREFIX-*.parquet.tmp") and renamed
// to its final name only when complete, so a reader never sees a half-written file. Final
// names are PREFIX-YYYYMMDDTHHMMSS.mmmZ-NNNNNN.parquet, from the ts of the file's first
// row (UTC) and a sequence number, so that the lexical order of names is the time order
// of files written in time order. Close publishes everything written. A crash loses the
// rows of the open file (a Parquet file is unreadable without its footer), no more: the
// rolling bounds that, and a writer that must lose less calls Roll on a timer, each call
// publishing the rows so far as a complete file.
//
// A Writer is not safe for concurrent use: one goroutine owns it (the gateway puts a
// bounded queue in front of it).
type Writer struct {
	dir  string
	opts WriterOptions
	span int64 // FileSpan in ms

	pw      *parquet.GenericWriter[Row] // reused from file to file
	f       *os.File                    // the open file; nil when none is open
	tmpPath string
	window  int64 // window index of the open file
	firstTS int64
	minTS   int64
	maxTS   int64
	rows    int64

	seq    int
	stats  WriterStats
	closed bool
}

// NewWriter returns a writer into dir, creating the directory if needed. No file is
// created before the first row.
func NewWriter(dir string, opts WriterOptions) (*Writer, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bid log directory: %w", err)
	}
	return &Writer{dir: dir, opts: opts, span: opts.FileSpan.Milliseconds()}, nil
}

func (w *Writer) windowOf(ts int64) int64 {
	// Floor division, so that negative timestamps fall in the right window too.
	q := ts / w.span
	if ts%w.span < 0 {
		q--
	}
	return q
}

// Write appends rows. Rows should come in about increasing ts: a row whose time window
// is later than the open file's starts a new file; a row from an earlier window goes into
// the open file (the file's footer records its true time range).
func (w *Writer) Write(rows []Row) error {
	if w.closed {
		return errors.New("bid log writer closed")
	}
	for len(rows) > 0 {
		if w.f == nil {
			if err := w.open(rows[0].TS); err != nil {
				return err
			}
		}
		n := 0
		for n < len(rows) && w.windowOf(rows[n].TS) <= w.window {
			ts := rows[n].TS
			w.minTS = min(w.minTS, ts)
			w.maxTS = max(w.maxTS, ts)
			n++
		}
		if n > 0 {
			if _, err := w.pw.Write(rows[:n]); err != nil {
				return fmt.Errorf("write bid log rows: %w", err)
			}
			w.rows += int64(n)
			rows = rows[n:]
		}
		if len(rows) > 0 || w.pw.Size() >= w.opts.MaxFileBytes {
			if err := w.Roll(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush ends the current row group so that the rows written so far are in the open
// (still hidden) file rather than in memory.
func (w *Writer) Flush() error {
	if w.f == nil {
		return nil
	}
	if err := w.pw.Flush(); err != nil {
		return fmt.Errorf("flush bid log: %w", err)
	}
	return nil
}

// Roll publishes the open file, if any; the next row starts a new one. The gateway calls
// it when traffic stops, so that an idle hour does not keep a file open.
func (w *Writer) Roll() error {
	if w.f == nil {
		return nil
	}
	return w.finish()
}

// Close publishes the open file. The Writer cannot be used afterwards.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f == nil {
		return nil
	}
	return w.finish()
}

// Stats returns what has been published so far.
func (w *Writer) Stats() WriterStats { return w.stats }

func (w *Writer) open(ts int64) error {
	f, err := os.CreateTemp(w.dir, "."+w.opts.Prefix+"-*.parquet.tmp")
	if err != nil {
		return fmt.Errorf("create bid log file: %w", err)
	}
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes it private
		_ = f.Close()
		_ = os.Remove(f.Name())
		return fmt.Errorf("create bid log file: %w", err)
	}
	w.f, w.tmpPath = f, f.Name()
	if w.pw == nil {
		w.pw = parquet.NewGenericWriter[Row](f,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
			parquet.MaxRowsPerRowGroup(w.opts.RowGroupRows),
		)
	} else {
		w.pw.Reset(f) // reuse the column buffers of the previous file
	}
	w.window = w.windowOf(ts)
	w.firstTS, w.minTS, w.maxTS, w.rows = ts, ts, ts, 0
	return nil
}

func (w *Writer) finish() error {
	pw, f := w.pw, w.f
	w.f = nil
	pw.SetKeyValueMetadata(metaFormat, formatVersion)
	pw.SetKeyValueMetadata(metaMinTS, strconv.FormatInt(w.minTS, 10))
	pw.SetKeyValueMetadata(metaMaxTS, strconv.FormatInt(w.maxTS, 10))
	pw.SetKeyValueMetadata(metaRows, strconv.FormatInt(w.rows, 10))
	err := pw.Close()
	if err == nil {
		err = f.Sync()
	}
	var size int64
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close bid log file %s: %w", w.tmpPath, err)
	}
	if err := w.publish(); err != nil {
		return err
	}
	w.stats.Files++
	w.stats.Rows += w.rows
	w.stats.Bytes += size
	return nil
}

// publish gives the temporary file its final name without ever replacing an existing
// file: os.Link fails when the name exists, and the sequence number moves on.
func (w *Writer) publish() error {
	stamp := time.UnixMilli(w.firstTS).UTC().Format("20060102T150405.000Z")
	for range 1000 {
		w.seq++
		name := fmt.Sprintf("%s-%s-%06d.parquet", w.opts.Prefix, stamp, w.seq)
		final := filepath.Join(w.dir, name)
		err := os.Link(w.tmpPath, final)
		if err == nil {
			return os.Remove(w.tmpPath)
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		// Links unsupported by the file system: check, then rename.
		if _, serr := os.Lstat(final); serr == nil {
			continue
		}
		if err := os.Rename(w.tmpPath, final); err != nil {
			return fmt.Errorf("publish bid log file: %w", err)
		}
		return nil
	}
	return fmt.Errorf("publish bid log file: no free name for %s", w.tmpPath)
}
