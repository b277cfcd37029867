package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidsieve/bidsieve/config"
)

const testAdminToken = "serve-admin-test-token"

// adminTestConfig is the default configuration with its store under dir, the admin API
// on a free loopback port and one manager token.
func adminTestConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	c := config.Default()
	c.AdminListen = "127.0.0.1:0"
	c.Store = config.Store{SQLite: filepath.Join(dir, "data", "bidsieve.db")}
	sum := sha256.Sum256([]byte(testAdminToken))
	c.Auth.Tokens = []config.Token{{Name: "max", Role: config.RoleManager, SHA256: hex.EncodeToString(sum[:])}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// applied records the configurations the gateway would have been given.
type applied struct {
	mu   sync.Mutex
	last *config.Config
}

func (a *applied) apply(c *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = c
	return nil
}

func (a *applied) get() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func patchAdmin(t *testing.T, addr, dsp, body string) int {
	t.Helper()
	status, _ := adminDo(t, "PATCH", addr, "/admin/api/dsps/"+dsp, testAdminToken, body)
	return status
}

func TestAdminRestartKeepsSettings(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	cfg := adminTestConfig(t, dir)
	ctx := t.Context()

	run := func(change func(addr string)) *config.Config {
		ar, err := openAdmin(ctx, cfg, adminOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gw := &applied{}
		if err := ar.Start(ctx, adminDeps{Apply: gw.apply}); err != nil {
			t.Fatal(err)
		}
		if gw.get() != ar.Effective() {
			t.Fatal("Start did not put the configuration in force")
		}
		if change != nil {
			change(ar.Addr())
		}
		last := gw.get()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := ar.Close(sctx); err != nil {
			t.Fatal(err)
		}
		return last
	}
	run(func(addr string) {
		for dsp, body := range map[string]string{
			"alpha":   `{"recall_target": 0.97, "exploration_rate": 0.04}`,
			"bravo":   `{"threshold": 0.12, "qps_limit": 50}`,
			"charlie": `{"enabled": false, "mode": "shadow"}`,
		} {
			if st := patchAdmin(t, addr, dsp, body); st != 200 {
				t.Fatalf("%s: %d", dsp, st)
			}
		}
	})
	// A new process on the same file and store: every setting is back, in force at start.
	got := run(nil)
	a, b, c := got.DSP("alpha"), got.DSP("bravo"), got.DSP("charlie")
	switch {
	case a.RecallTarget == nil || *a.RecallTarget != 0.97 || a.ExplorationRate == nil || *a.ExplorationRate != 0.04:
		t.Fatalf("alpha after restart: %+v", a)
	case b.Threshold == nil || *b.Threshold != 0.12 || b.QPSLimit != 50:
		t.Fatalf("bravo after restart: %+v", b)
	case c.Enabled || c.Mode == nil || *c.Mode != "shadow":
		t.Fatalf("charlie after restart: %+v", c)
	}
}

func TestAdminRefusesACorruptStore(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	cfg := adminTestConfig(t, dir)
	if err := os.MkdirAll(filepath.Dir(cfg.Store.SQLite), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.Store.SQLite, bytes.Repeat([]byte("not a database\n"), 500), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openAdmin(t.Context(), cfg, adminOptions{})
	if err == nil {
		t.Fatal("started on a corrupt store")
	}
	for _, want := range []string{"settings store sqlite " + cfg.Store.SQLite, "not a database", "will not run"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("the error %q does not say %q", err, want)
		}
	}
	t.Logf("refused: %v", err)

	// Optional store: runs on the file configuration and says so loudly.
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ar, err := openAdmin(t.Context(), cfg, adminOptions{Logger: log, StoreOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close(t.Context())
	if !ar.Settings().ReadOnly() || ar.Effective() != cfg {
		t.Fatal("not running on the file configuration")
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "SETTINGS STORE UNAVAILABLE") {
		t.Fatalf("not loud enough:\n%s", logs.String())
	}
}

func TestAdminRefusesAnUnreachableStore(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := adminTestConfig(t, t.TempDir())
	cfg.Store = config.Store{Postgres: "postgres://bidsieve:hunter2@127.0.0.1:1/bidsieve?sslmode=disable&connect_timeout=2"}
	_, err := openAdmin(t.Context(), cfg, adminOptions{})
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "settings store postgres") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("unreachable store: %v", err)
	}
}

func TestAdminFileReloadKeepsOverrides(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := adminTestConfig(t, t.TempDir())
	ar, err := openAdmin(t.Context(), cfg, adminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close(t.Context())
	gw := &applied{}
	if err := ar.Start(t.Context(), adminDeps{Apply: gw.apply}); err != nil {
		t.Fatal(err)
	}
	if st := patchAdmin(t, ar.Addr(), "alpha", `{"mode": "off"}`); st != 200 {
		t.Fatalf("patch: %d", st)
	}
	next := cfg.Clone()
	next.DSPs[0].QPSLimit = 1234
	if err := ar.Reload(next); err != nil {
		t.Fatal(err)
	}
	a := gw.get().DSP("alpha")
	if a.QPSLimit != 1234 || a.Mode == nil || *a.Mode != "off" {
		t.Fatalf("after a file reload alpha is %+v", a)
	}
}

func TestAdminAddr(t *testing.T) {
	cases := []struct {
		listen   string
		loopback bool
		want     string
		fails    bool
	}{
		{":8081", false, ":8081", false},
		{":8081", true, "127.0.0.1:8081", false},
		{"0.0.0.0:8081", true, "127.0.0.1:8081", false},
		{"[::]:8081", true, "127.0.0.1:8081", false},
		{"127.0.0.1:8081", true, "127.0.0.1:8081", false},
		{"[::1]:8081", true, "[::1]:8081", false},
		{"localhost:8081", true, "localhost:8081", false},
		{"10.0.0.5:8081", true, "", true},
		{"admin.example.com:8081", true, "", true},
		{"10.0.0.5:8081", false, "10.0.0.5:8081", false},
	}
	for _, c := range cases {
		got, err := adminAddr(c.listen, c.loopback)
		if (err != nil) != c.fails || got != c.want {
			t.Errorf("adminAddr(%q, %v) = %q, %v; want %q, fails %v", c.listen, c.loopback, got, err, c.want, c.fails)
		}
	}
}
