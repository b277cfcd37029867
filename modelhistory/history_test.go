package modelhistory

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLockRunIsExclusive(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second holder (another open file, as another process would have) is refused at once.
	if _, err := LockRun(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second LockRun: %v, want ErrLocked", err)
	}
	unlock()
	unlock2, err := LockRun(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
}

func TestListReadRecord(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, v := range []string{"m1", "m3", "m2"} {
		e := &Entry{Version: v, At: t0.Add(time.Duration(i) * time.Hour), Status: StatusRefused, Reasons: []string{"x"}}
		if err := Record(dir, e, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, err := List(dir)
	if err != nil || len(list) != 3 || list[0].Version != "m2" || list[2].Version != "m1" {
		t.Fatalf("List: %+v %v, want newest first", list, err)
	}
	if _, err := Read(dir, "m9"); !errors.Is(err, ErrUnknownVersion) {
		t.Errorf("Read unknown: %v", err)
	}
	if err := Record(dir, &Entry{Version: "../escape"}, nil); err == nil {
		t.Error("a version naming a path was recorded")
	}
	if list, err := List(filepath.Join(dir, "absent")); err != nil || len(list) != 0 {
		t.Errorf("missing folder: %v %v, want an empty history", list, err)
	}
}

// A damaged history file never replaces model.path.
func TestInstallRefusesDamagedFile(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(t.TempDir(), "current.bsm")
	if err := os.WriteFile(model, []byte("champion"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ModelPath(dir, "m1"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(dir, "m1", model); err == nil {
		t.Fatal("a damaged file was installed")
	}
	if _, err := Install(dir, "m2", model); !errors.Is(err, ErrUnknownVersion) {
		t.Errorf("unknown version: %v", err)
	}
	if _, err := Install(dir, "../m1", model); !errors.Is(err, ErrUnknownVersion) {
		t.Errorf("path as version: %v", err)
	}
	if b, _ := os.ReadFile(model); string(b) != "champion" {
		t.Errorf("model.path now %q", b)
	}
}
