package main

import (
	"context"
	"github.com/bidsieve/bidsieve/internal/logtest"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestDSPSimReloadsItsProfiles: `bidsieve dsp-sim` follows its profile file: a DSP renamed
// in the file answers under its new name within seconds; a broken file is reported and the
// profiles in force keep serving.
func TestDSPSimReloadsItsProfiles(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	raw, err := os.ReadFile(exampleProfiles)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs logtest.Buffer
	base, done := startDSPSim(ctx, t, &logs, "--profiles", path, "--listen", "127.0.0.1:0")
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	status := func(dsp string) int {
		s, err := statusOf(client.Post(base+"/bid/"+dsp, "application/json",
			strings.NewReader(`{"id":"r1","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"domain":"a.example"},"tmax":50}`)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s; log:\n%s", what, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if status("golf") != http.StatusNotFound || status("charlie") == http.StatusNotFound {
		t.Fatal("before the edit: want charlie served and golf unknown")
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), "- name: charlie", "- name: golf", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("golf served after the file renamed charlie", func() bool { return status("golf") != http.StatusNotFound })
	if status("charlie") != http.StatusNotFound {
		t.Error("charlie still served after the file dropped it")
	}
	if err := os.WriteFile(path, []byte("dsps: ["), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("the broken file reported", func() bool { return strings.Contains(logs.String(), "profiles not reloaded") })
	if status("golf") == http.StatusNotFound {
		t.Error("a broken file took golf away")
	}
	cancel()
	waitStop(t, done, "dsp-sim")
}
