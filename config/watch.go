package config

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch calls changed each time the file at path is written, created, renamed or removed,
// after debounce has passed without another event (editors write a file in several steps),
// until ctx is done. It watches the file's folder, so that a file replaced by a rename (an
// editor's save, a Kubernetes ConfigMap's symlink swap) is still followed. changed runs on
// Watch's goroutine; Watch returns nil when ctx ends, or an error when watching cannot start.
// It is NewWatcher then Run.
func Watch(ctx context.Context, path string, debounce time.Duration, changed func()) error {
	w, err := NewWatcher(path)
	if err != nil {
		return err
	}
	return w.Run(ctx, debounce, changed)
}

// A Watcher follows one file, as Watch describes. It sees every change made after
// NewWatcher returns, even before Run starts (the events wait), so that a program can start
// watching before it announces that it is ready and lose no edit made in between.
type Watcher struct {
	w    *fsnotify.Watcher
	base string
}

// NewWatcher starts watching the file at path (its folder). Run or Close it.
func NewWatcher(path string) (*Watcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	dir, base := filepath.Split(abs)
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("watch config folder %s: %w", dir, err)
	}
	return &Watcher{w: w, base: base}, nil
}

// Close stops watching; Run does it when it returns.
func (wt *Watcher) Close() error { return wt.w.Close() }

// Run calls changed as Watch does until ctx is done, then closes the watcher and returns
// nil.
func (wt *Watcher) Run(ctx context.Context, debounce time.Duration, changed func()) error {
	w, base := wt.w, wt.base
	defer func() { _ = w.Close() }()
	var fire <-chan time.Time
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			name := filepath.Base(ev.Name)
			if name != base && name != "..data" { // ..data: the ConfigMap symlink
				continue
			}
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			changed()
		case _, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// Events may have been lost (an overflow): reload to be safe; it is idempotent.
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		}
	}
}
