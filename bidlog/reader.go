package bidlog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// FileInfo describes one published bid-log file, from its footer alone.
type FileInfo struct {
	Path  string
	Size  int64 // bytes
	Rows  int64
	MinTS int64 // smallest ts in the file, Unix ms
	MaxTS int64 // largest ts in the file, Unix ms
}

// Start is the time of the file's earliest row.
func (f FileInfo) Start() time.Time { return time.UnixMilli(f.MinTS).UTC() }

// End is the time of the file's latest row.
func (f FileInfo) End() time.Time { return time.UnixMilli(f.MaxTS).UTC() }

// ListFiles describes the published bid-log files under dir (*.parquet, hidden and
// temporary files and folders skipped), sorted by their path below dir. It walks the
// folders below dir too, so that it reads both the flat folder of the gateway and the
// simulator (names sort in time order) and the Hive layout of `bidsieve bidlog-sink`
// (dt=YYYY-MM-DD/hour=HH/..., whose paths sort in time order as well). It reads only the
// files' footers.
func ListFiles(dir string) ([]FileInfo, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := e.Name()
		if path == dir {
			return nil
		}
		if strings.HasPrefix(n, ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.Type().IsRegular() && strings.HasSuffix(n, ".parquet") {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bid log: %w", err)
	}
	sort.Strings(names)
	infos := make([]FileInfo, 0, len(names))
	for _, n := range names {
		fi, err := StatFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		infos = append(infos, fi)
	}
	return infos, nil
}

// ListDir is ListFiles for a log directory that a user named (train, evaluate): a
// missing path, or one that is not a directory, is an error that says so, and every
// error names the log directory.
func ListDir(dir string) ([]FileInfo, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("log directory %s: not a directory", dir)
	}
	files, err := ListFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("log directory %s: %w", dir, err)
	}
	return files, nil
}

// StatFile describes one bid-log file from its footer. Files written by Writer carry
// their time range in the footer's key-value metadata; for other files it comes from
// the statistics of the ts column.
func StatFile(path string) (FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileInfo{}, fmt.Errorf("open bid log file: %w", err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	st, err := f.Stat()
	if err != nil {
		return FileInfo{}, fmt.Errorf("stat bid log file: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return FileInfo{}, fmt.Errorf("open bid log file %s: %w", path, err)
	}
	info := FileInfo{Path: path, Size: st.Size(), Rows: pf.NumRows()}
	minS, ok1 := pf.Lookup(metaMinTS)
	maxS, ok2 := pf.Lookup(metaMaxTS)
	if ok1 && ok2 {
		info.MinTS, err = strconv.ParseInt(minS, 10, 64)
		if err == nil {
			info.MaxTS, err = strconv.ParseInt(maxS, 10, 64)
		}
		if err != nil {
			return FileInfo{}, fmt.Errorf("bid log file %s: bad time range in footer: %w", path, err)
		}
		return info, nil
	}
	if err := tsBounds(pf, &info); err != nil {
		return FileInfo{}, fmt.Errorf("bid log file %s: %w", path, err)
	}
	return info, nil
}

// tsBounds fills the time range from the ts column chunks' statistics.
func tsBounds(pf *parquet.File, info *FileInfo) error {
	col, ok := pf.Schema().Lookup("ts")
	if !ok {
		return errors.New("no ts column")
	}
	first := true
	for _, rg := range pf.RowGroups() {
		cc, isFile := rg.ColumnChunks()[col.ColumnIndex].(*parquet.FileColumnChunk)
		if !isFile {
			continue
		}
		lo, hi, ok := cc.Bounds()
		if !ok {
			continue
		}
		if first || lo.Int64() < info.MinTS {
			info.MinTS = lo.Int64()
		}
		if first || hi.Int64() > info.MaxTS {
			info.MaxTS = hi.Int64()
		}
		first = false
	}
	return nil
}

// Reader streams rows from a sequence of bid-log files, one file open at a time and one
// batch in memory at a time. It is not safe for concurrent use.
type Reader struct {
	paths []string
	next  int
	f     *os.File
	pr    *parquet.GenericReader[Row]
}

// OpenDir returns a reader over every published file under dir, in path (time) order.
func OpenDir(dir string) (*Reader, error) {
	files, err := ListFiles(dir)
	if err != nil {
		return nil, err
	}
	return NewReader(files), nil
}

// NewReader returns a reader over the given files in the given order (for instance the
// files of ListFiles whose time range falls on the training days).
func NewReader(files []FileInfo) *Reader {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return OpenFiles(paths...)
}

// OpenFiles returns a reader over the named files in the given order. Files are opened
// lazily, as reading reaches them.
func OpenFiles(paths ...string) *Reader {
	return &Reader{paths: paths}
}

// Read fills rows with the next rows and returns how many it read. It returns 0 and
// io.EOF after the last row. Every field of rows[:n] is overwritten; the strings are
// fresh, so the caller may keep them.
func (r *Reader) Read(rows []Row) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	for {
		if r.pr == nil {
			if r.next >= len(r.paths) {
				return 0, io.EOF
			}
			if err := r.openNext(); err != nil {
				return 0, err
			}
		}
		clear(rows)
		n, err := r.pr.Read(rows)
		if err != nil && !errors.Is(err, io.EOF) {
			return n, fmt.Errorf("read bid log file %s: %w", r.paths[r.next-1], err)
		}
		if errors.Is(err, io.EOF) || n == 0 {
			if cerr := r.closeFile(); cerr != nil {
				return n, cerr
			}
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Close releases the open file, if any.
func (r *Reader) Close() error {
	r.next = len(r.paths)
	return r.closeFile()
}

func (r *Reader) openNext() error {
	path := r.paths[r.next]
	r.next++
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open bid log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat bid log file: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true))
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("open bid log file %s: %w", path, err)
	}
	r.f = f
	r.pr = parquet.NewGenericReader[Row](pf)
	return nil
}

func (r *Reader) closeFile() error {
	if r.pr == nil {
		return nil
	}
	err := r.pr.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.pr, r.f = nil, nil
	if err != nil {
		return fmt.Errorf("close bid log file: %w", err)
	}
	return nil
}

// ReadDir reads every row of the published files under dir (ListDir), in file order, into
// memory: for tests and small logs.
func ReadDir(dir string) ([]Row, error) {
	files, err := ListDir(dir)
	if err != nil {
		return nil, err
	}
	r := NewReader(files)
	defer func() { _ = r.Close() }()
	var out []Row
	buf := make([]Row, 1024)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
