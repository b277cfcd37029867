package bidlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

func testRows(n int, start time.Time, step time.Duration) []Row {
	rows := make([]Row, n)
	for i := range rows {
		r := &rows[i]
		r.TS = start.Add(time.Duration(i) * step).UnixMilli()
		r.RequestID = fmt.Sprintf("req-%06d", i/3)
		r.ImpID = fmt.Sprint(i%3 + 1)
		r.DSP = []string{"alpha", "bravo"}[i%2]
		r.Country = "USA"
		r.UserID = i%4 == 0
		r.FloorCPM = float64(i%7) / 10
		r.HourUTC = int32(time.UnixMilli(r.TS).UTC().Hour())
		r.Decision = DecisionSent
		r.Propensity = 1
		if i%5 == 0 {
			r.Outcome = OutcomeBid
			r.BidCPM = 1.25
		} else {
			r.Outcome = OutcomeNoBid
		}
		if i%3 != 0 {
			p := float64(i%100) / 100
			r.TrueP = &p
		}
	}
	return rows
}

// readAll reads a directory back in small batches, reusing the batch slice as a caller
// would, and copies rows out.
func readAll(t *testing.T, r *Reader, batch int) []Row {
	t.Helper()
	buf := make([]Row, batch)
	var out []Row
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("Read returned 0 rows without io.EOF")
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func equalRows(t *testing.T, got, want []Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if (g.TrueP == nil) != (w.TrueP == nil) || (g.TrueP != nil && *g.TrueP != *w.TrueP) {
			t.Fatalf("row %d: true_p %v, want %v", i, g.TrueP, w.TrueP)
		}
		g.TrueP, w.TrueP = nil, nil
		if g != w {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// writeLog writes rows through a new writer on dir, batch rows per Write, closes it and
// returns it with the files it published.
func writeLog(t *testing.T, dir string, o WriterOptions, rows []Row, batch int) (*Writer, []FileInfo) {
	t.Helper()
	w, err := NewWriter(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rows); i += batch {
		if err := w.Write(rows[i:min(i+batch, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return w, files
}

func TestRoundTripAndTimeRolling(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2024, 3, 1, 22, 30, 0, 0, time.UTC)
	rows := testRows(5000, start, 2*time.Second) // 22:30 to about 01:16, over a day boundary
	w, files := writeLog(t, dir, WriterOptions{FileSpan: time.Hour, RowGroupRows: 700}, rows, 333)
	// Windows 22h, 23h, 0h, 1h of row time.
	if len(files) != 4 {
		t.Fatalf("%d files, want 4 (one per hour window): %v", len(files), files)
	}
	var total int64
	for i, f := range files {
		total += f.Rows
		if f.Start().Truncate(time.Hour) != f.End().Truncate(time.Hour) {
			t.Errorf("file %d spans %v to %v, more than its hour window", i, f.Start(), f.End())
		}
		if i > 0 && !files[i-1].End().Before(f.Start()) {
			t.Errorf("file %d starts at %v, before file %d ends (%v)", i, f.Start(), i-1, files[i-1].End())
		}
	}
	if st := w.Stats(); st.Files != 4 || st.Rows != int64(len(rows)) || total != st.Rows {
		t.Errorf("stats %+v, footers count %d rows, want 4 files and %d rows", st, total, len(rows))
	}
	if files[0].MinTS != rows[0].TS || files[3].MaxTS != rows[len(rows)-1].TS {
		t.Errorf("time range %d-%d, want %d-%d", files[0].MinTS, files[3].MaxTS, rows[0].TS, rows[len(rows)-1].TS)
	}
	if !strings.HasPrefix(filepath.Base(files[0].Path), "bidlog-20240301T223000.000Z-") {
		t.Errorf("first file is named %s", filepath.Base(files[0].Path))
	}
	r, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, readAll(t, r, 97), rows)
}

func TestSizeRollingKeepsNameOrder(t *testing.T) {
	dir := t.TempDir()
	rows := testRows(20000, time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), time.Millisecond)
	_, files := writeLog(t, dir, WriterOptions{MaxFileBytes: 64 << 10, RowGroupRows: 500}, rows, 100)
	if len(files) < 3 {
		t.Fatalf("%d files, want several from size rolling", len(files))
	}
	byTime := append([]FileInfo(nil), files...)
	sort.SliceStable(byTime, func(i, j int) bool { return byTime[i].MinTS < byTime[j].MinTS })
	for i := range files {
		if files[i].Path != byTime[i].Path {
			t.Fatalf("name order differs from time order at file %d", i)
		}
	}
	r, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, readAll(t, r, 1000), rows)
}

func TestReaderSeesNoHalfFile(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := testRows(100, time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), time.Millisecond)
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	files, err := ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 {
		t.Fatalf("an open file is visible: %v", files)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".") {
		t.Fatalf("the open file should be one hidden temporary file, have %v", entries)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows); err == nil {
		t.Error("Write after Close succeeded")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 || strings.HasPrefix(entries[0].Name(), ".") {
		t.Fatalf("after Close want one published file, have %v", entries)
	}
}

func TestCloseWithoutRowsWritesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Roll(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("empty writer left %v", entries)
	}
}

func TestStatFileWithoutFooterMetadata(t *testing.T) {
	dir := t.TempDir()
	rows := testRows(50, time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), time.Second)
	path := filepath.Join(dir, "foreign.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	fi, err := StatFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Rows != 50 || fi.MinTS != rows[0].TS || fi.MaxTS != rows[49].TS {
		t.Errorf("got %+v, want 50 rows from %d to %d", fi, rows[0].TS, rows[49].TS)
	}
}

func TestReaderOverChosenFiles(t *testing.T) {
	dir := t.TempDir()
	rows := testRows(3*24, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Hour)
	_, files := writeLog(t, dir, WriterOptions{FileSpan: 24 * time.Hour}, rows, len(rows))
	if len(files) != 3 {
		t.Fatalf("files %v; want one per day", files)
	}
	// Training picks its days by the files' time ranges: here the second day only.
	r := NewReader(files[1:2])
	equalRows(t, readAll(t, r, 10), rows[24:48])
}

func BenchmarkWriter(b *testing.B) {
	rows := testRows(4096, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Millisecond)
	dir := b.TempDir()
	w, err := NewWriter(dir, WriterOptions{FileSpan: 1000 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := w.Write(rows); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

func TestListDirNamesTheLogDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.parquet")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{filepath.Join(dir, "nope"), "log directory: "},
		{file, "log directory " + file + ": not a directory"},
		{dir, "log directory " + dir + ": open bid log file"}, // x.parquet is not a bid log
	} {
		if _, err := ListDir(c.dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ListDir(%s): %v, want %q", c.dir, err, c.want)
		}
	}
	if files, err := ListDir(t.TempDir()); err != nil || len(files) != 0 {
		t.Errorf("empty directory: %v, %v", files, err)
	}
}
