package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/bidsieve/bidsieve/config"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The config written for a gateway of the full run reads back, through the loader serve
// uses, as what was built: the default DSPs on the simulator's address, the listeners and
// mode asked for, everything under the run's directory, the admin token, no breaker trips.
func TestServeConfigRoundTrips(t *testing.T) {
	dir := t.TempDir()
	built, err := ServeConfig(ServeOptions{Mode: config.ModeFilter, Dir: dir, Listen: "127.0.0.1:19101",
		AdminListen: "127.0.0.1:19102", SimAddr: "127.0.0.1:19100", AdminToken: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bidsieve.yaml")
	if err := WriteConfig(path, built); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An empty targeting list reads back as an empty slice instead of nil: the same rule.
	if diff := cmp.Diff(built, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("read back (-built +read):\n%s", diff)
	}

	def := config.Default()
	if len(got.DSPs) != len(def.DSPs) || len(got.DSPs) == 0 {
		t.Fatalf("%d DSPs, want the default's %d", len(got.DSPs), len(def.DSPs))
	}
	for i, d := range got.DSPs {
		want := "http://127.0.0.1:19100/bid/" + def.DSPs[i].Name
		if d.Endpoint != want || d.QPSLimit != def.DSPs[i].QPSLimit || d.Timeout != def.DSPs[i].Timeout {
			t.Errorf("dsp %s: endpoint %s qps %d timeout %v, want %s and the default's limits", d.Name, d.Endpoint, d.QPSLimit, d.Timeout, want)
		}
	}
	sum := sha256.Sum256([]byte("secret"))
	checks := []struct {
		what      string
		got, want any
	}{
		{"listen", got.Listen, "127.0.0.1:19101"},
		{"admin_listen", got.AdminListen, "127.0.0.1:19102"},
		{"shaping", got.Shaping, config.Shaping{Mode: config.ModeFilter, RecallTarget: 0.95, ExplorationRate: 0.02}},
		{"model", got.Model.Path, filepath.Join(dir, "current.bsm")},
		{"bidlog", got.BidLog.Dir, filepath.Join(dir, "bidlog")},
		{"bidlog roll", got.BidLog.RollInterval, def.BidLog.RollInterval},
		{"store", got.Store, config.Store{SQLite: filepath.Join(dir, "bidsieve.db")}},
		{"tokens", got.Auth.Tokens, []config.Token{{Name: "e2e", Role: config.RoleAdmin, SHA256: hex.EncodeToString(sum[:])}}},
		{"breaker", got.Breaker.MinCalls, 1_000_000},
		{"auction", got.Auction, def.Auction},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.what, diff)
		}
	}
}

func TestServeConfigRefusesABadMode(t *testing.T) {
	if _, err := ServeConfig(ServeOptions{Mode: "sometimes", Dir: t.TempDir(), Listen: "127.0.0.1:1", SimAddr: "127.0.0.1:2"}); err == nil {
		t.Error("mode sometimes: no error")
	}
}
