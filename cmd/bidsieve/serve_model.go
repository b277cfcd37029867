package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/predictor/serving"
)

// Model file watching: changes are debounced (training writes the file by an atomic
// rename; a copy writes it in several steps).
const (
	modelDebounce = 500 * time.Millisecond
	modelPoll     = 2 * time.Second // while the model's folder cannot be watched
)

// loadModelAtStart loads the model at path for the gateway's start. A missing or bad file
// is not fatal: the gateway fails open (every eligible DSP gets every request) and says so
// loudly, and the watcher loads the file when a good one appears. It returns nil then, and
// when path is "".
func loadModelAtStart(path string, log *slog.Logger) *serving.Scorer {
	if path == "" {
		log.Warn("NO MODEL: model.path is empty; every eligible DSP gets every request (fail open)")
		return nil
	}
	start := time.Now()
	s, err := serving.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Error("NO MODEL: the model file does not exist; every eligible DSP gets every request (fail open) until it appears",
			"path", path)
		return nil
	case err != nil:
		log.Error("NO MODEL: the model file cannot be served; every eligible DSP gets every request (fail open) until a good file replaces it",
			"path", path, "err", err)
		return nil
	}
	f := s.File()
	log.Info("model loaded", "path", path, "version", f.Meta.Version, "created_at", f.Meta.CreatedAt,
		"dsps", len(f.DSPs), "took", time.Since(start).Round(time.Millisecond))
	return s
}

// watchModel calls changed when the model file at path is written, created, renamed or
// removed (debounced), until ctx ends. While the file's folder cannot be watched (it does
// not exist yet, say), it polls the file instead and calls changed when it appears or
// changes, trying to watch again at every poll.
// first is the watcher started before serving, or nil with firstErr why it could not start.
func watchModel(ctx context.Context, path string, log *slog.Logger, changed func(), first *config.Watcher, firstErr error) {
	last := statOf(path)
	warned := false
	for {
		var err error
		switch {
		case first != nil:
			err = first.Run(ctx, modelDebounce, changed)
			first = nil
		case firstErr != nil:
			err, firstErr = firstErr, nil
		default:
			err = config.Watch(ctx, path, modelDebounce, changed)
		}
		if err == nil || ctx.Err() != nil {
			return
		}
		if !warned {
			log.Warn("model file not watched yet: polling it", "path", path, "every", modelPoll, "err", err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(modelPoll):
		}
		if now := statOf(path); now != last {
			last = now
			changed()
		}
	}
}

// fileStat is what polling compares: a file's size and modification time (zero when the
// file does not exist).
type fileStat struct {
	size int64
	mod  time.Time
}

func statOf(path string) fileStat {
	fi, err := os.Stat(filepath.Clean(path))
	if err != nil {
		return fileStat{}
	}
	return fileStat{size: fi.Size(), mod: fi.ModTime()}
}
