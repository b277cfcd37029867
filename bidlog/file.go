package bidlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// WriteFile writes rows as one complete bid-log file at path, durably: into a hidden
// temporary file of the same folder, synced, renamed over path (a file already there is
// replaced whole, never mixed), and the folder synced, so that once it returns the file
// survives a crash under its final name. The footer carries the row count and time range
// as Writer's files do, plus the extra key-value metadata given (which may be nil). The
// folder must exist. WriteFile is safe for concurrent use on different paths.
func WriteFile(path string, rows []Row, meta map[string]string) (FileInfo, error) {
	if len(rows) == 0 {
		return FileInfo{}, errors.New("write bid log file: no rows")
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+name+"-*.tmp")
	if err != nil {
		return FileInfo{}, fmt.Errorf("create bid log file: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) (FileInfo, error) {
		_ = f.Close()
		_ = os.Remove(tmp)
		return FileInfo{}, fmt.Errorf("write bid log file %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes it private
		return fail(err)
	}
	info := FileInfo{Path: path, Rows: int64(len(rows)), MinTS: rows[0].TS, MaxTS: rows[0].TS}
	for i := range rows {
		info.MinTS = min(info.MinTS, rows[i].TS)
		info.MaxTS = max(info.MaxTS, rows[i].TS)
	}
	pw := parquet.NewGenericWriter[Row](f,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.MaxRowsPerRowGroup(DefaultRowGroupRows),
	)
	if _, err := pw.Write(rows); err != nil {
		return fail(err)
	}
	for k, v := range meta {
		pw.SetKeyValueMetadata(k, v)
	}
	pw.SetKeyValueMetadata(metaFormat, formatVersion)
	pw.SetKeyValueMetadata(metaMinTS, strconv.FormatInt(info.MinTS, 10))
	pw.SetKeyValueMetadata(metaMaxTS, strconv.FormatInt(info.MaxTS, 10))
	pw.SetKeyValueMetadata(metaRows, strconv.FormatInt(info.Rows, 10))
	if err := pw.Close(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	info.Size = st.Size()
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return FileInfo{}, fmt.Errorf("write bid log file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return FileInfo{}, fmt.Errorf("publish bid log file: %w", err)
	}
	if err := SyncDir(dir); err != nil {
		return FileInfo{}, err
	}
	return info, nil
}

// SyncDir makes the entries of a folder (a file renamed into it, a folder created in it)
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
