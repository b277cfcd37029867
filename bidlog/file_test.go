package bidlog

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// A Hive-partitioned tree (bidlog-sink's) and a flat folder (the gateway's) read alike:
// ListFiles walks the folders, skips hidden ones and temporary files, and a rewrite of a
// path replaces the file whole.
func TestWriteFileAndHiveLayout(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	rows := testRows(90, start, time.Minute)
	byHour := map[string][]Row{}
	for _, r := range rows {
		ts := time.UnixMilli(r.TS).UTC()
		sub := filepath.Join("dt="+ts.Format("2006-01-02"), "hour="+ts.Format("15"))
		byHour[sub] = append(byHour[sub], r)
	}
	for sub, rs := range byHour {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, sub, "t-0-00000000000000000000.parquet")
		// Written twice: the second, whole, replaces the first (a sink's rewrite after a crash).
		if _, err := WriteFile(path, rs[:1], nil); err != nil {
			t.Fatal(err)
		}
		info, err := WriteFile(path, rs, map[string]string{"bidsieve.kafka.partition": "0"})
		if err != nil {
			t.Fatal(err)
		}
		if info.Rows != int64(len(rs)) || info.MinTS != rs[0].TS || info.MaxTS != rs[len(rs)-1].TS {
			t.Errorf("%s: info %+v", sub, info)
		}
	}
	// Noise that must be skipped.
	for _, p := range []string{".hidden/x.parquet", "dt=2026-12-06/hour=13/.t-0-1.parquet-123.tmp", "README"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := ListDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 { // hours 13 and 14
		t.Fatalf("listed %d files, want 2: %+v", len(files), files)
	}
	if files[0].MaxTS >= files[1].MinTS {
		t.Errorf("files not in time order: %+v", files)
	}
	got := readAll(t, NewReader(files), 7)
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("read back %d rows, want the %d written, in order", len(got), len(rows))
	}
	if _, err := WriteFile(filepath.Join(dir, "empty.parquet"), nil, nil); err == nil {
		t.Error("WriteFile with no rows: no error")
	}
}
