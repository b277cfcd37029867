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
func Watch(ctx context.Context, path string, debounce time.Duration, changed func()) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer func() { _ = w.Close() }()
	dir, base := filepath.Split(abs)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch config folder %s: %w", dir, err)
	}
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
