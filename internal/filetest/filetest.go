// Package filetest holds the file reads that tests share: a file or a folder's files read
// whole, the test failing when one cannot be read. It is imported by tests only.
package filetest

import (
	"os"
	"path/filepath"
	"testing"
)

// Read returns the contents of the file at path.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReadDir returns the contents of the files in dir (not below it) by name; keep, when not
// nil, says which names to read.
func ReadDir(t testing.TB, dir string, keep func(name string) bool) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if keep != nil && !keep(e.Name()) {
			continue
		}
		out[e.Name()] = Read(t, filepath.Join(dir, e.Name()))
	}
	return out
}
