package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that signals each write on ch; it is read only after the
// writing goroutine has returned.
type lockedBuffer struct {
	ch  chan struct{}
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	n, err := b.buf.Write(p)
	select {
	case b.ch <- struct{}{}:
	default:
	}
	return n, err
}

// retrain --every: one round promotes the first model, then the process waits for the next
// period and stops cleanly (exit 0) when its context ends, as on SIGTERM.
func TestRetrainEveryStopsOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	run(t, "simulate", "--profiles", exampleProfiles, "--requests", "1500", "--start", "2024-03-01", "--days", "3", "--seed", "5", "--out", logs)
	model := filepath.Join(dir, "models", "current.bsm")
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte("model: {path: "+model+"}\nbidlog: {dir: "+logs+"}\nretrain: {tolerance: 0.02, min_bids: 50}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &lockedBuffer{ch: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- runRetrain(ctx, []string{"--config", cfg, "--window", "3d", "--every", "1h", "--max-epochs", "1"}, out, &bytes.Buffer{})
	}()
	select {
	case <-out.ch:
	case err := <-done:
		t.Fatalf("retrain returned before its first round was printed: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("no round after 3 minutes")
	}
	time.Sleep(100 * time.Millisecond) // the rest of the round's lines
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stopped with %v, want a clean stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retrain --every did not stop on the signal")
	}
	if !strings.Contains(out.buf.String(), " promoted ") {
		t.Errorf("first round output:\n%s", out.buf.String())
	}
	if _, err := os.Stat(model); err != nil {
		t.Errorf("model.path after the first promotion: %v", err)
	}
}

// retrain --until: a bad time, or --until with --every, is a usage error naming the flag;
// a good one ends the window (the held-out day is printed).
func TestRetrainUntil(t *testing.T) {
	for _, args := range [][]string{
		{"--config", "x.yaml", "--until", "yesterday"},
		{"--config", "x.yaml", "--until", "2024-03-08", "--every", "24h"},
	} {
		err := runRetrain(t.Context(), args, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--until") {
			t.Errorf("%v: err %v, want a usage error naming --until", args, err)
		}
	}
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	run(t, "simulate", "--profiles", exampleProfiles, "--requests", "1500", "--start", "2024-03-01", "--days", "4", "--seed", "5", "--out", logs)
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte("model: {path: "+filepath.Join(dir, "current.bsm")+"}\nbidlog: {dir: "+logs+"}\nretrain: {tolerance: 0.02, min_bids: 50}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runRetrain(t.Context(), []string{"--config", cfg, "--window", "3d", "--until", "2024-03-04T06:00:00Z", "--max-epochs", "1"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "held out 2024-03-03") {
		t.Errorf("--until 2024-03-04T06:00: want day 2024-03-03 held out, got:\n%s", out.String())
	}
}
