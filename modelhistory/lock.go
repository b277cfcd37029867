package modelhistory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked is returned by LockRun when another process holds the retrain lock.
var ErrLocked = errors.New("another retrain holds the lock")

// Lock file names in the history folder.
const (
	runLock     = ".retrain.lock"
	installLock = ".install.lock"
)

// LockRun takes the retrain lock of dir without waiting: ErrLocked (wrapped) when another
// process (or another LockRun of this one) holds it. The lock is an flock on an open file:
// the kernel releases it when the process dies, so a crash leaves no stale lock.
func LockRun(dir string) (unlock func(), err error) {
	return lock(dir, runLock, syscall.LOCK_EX|syscall.LOCK_NB)
}

// LockInstall takes the install lock of dir, waiting for it: promotion and rollback
// replace model.path under it.
func LockInstall(dir string) (unlock func(), err error) {
	return lock(dir, installLock, syscall.LOCK_EX)
}

func lock(dir, name string, how int) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
