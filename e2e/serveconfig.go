package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/bidsieve/bidsieve/config"
	"gopkg.in/yaml.v3"
)

// ServeOptions is one `bidsieve serve` of the full run, in front of `bidsieve dsp-sim`.
type ServeOptions struct {
	Mode        string // shaping mode: off, shadow or filter
	Dir         string // its model (current.bsm), bid log, store and config live here
	Listen      string // auction endpoint
	AdminListen string // "" for none
	SimAddr     string // host:port of dsp-sim
	AdminToken  string // the admin API's bearer token (stored as its SHA-256)
}

// ServeConfig is the configuration of one gateway of the full run: the embedded default
// configuration (its six DSPs and their limits) with the DSPs' endpoints on SimAddr, the
// given listeners and shaping mode (recall target 0.95, exploration 0.02), everything it
// writes under Dir, an admin token, and breakers that do not trip: a loaded machine makes
// DSP calls time out now and then, and open breakers would then skip DSPs in one run and
// not in the other.
func ServeConfig(o ServeOptions) (*config.Config, error) {
	c := config.Default()
	c.Listen, c.AdminListen = o.Listen, o.AdminListen
	c.Shaping = config.Shaping{Mode: o.Mode, RecallTarget: 0.95, ExplorationRate: 0.02}
	c.Model = config.Model{Path: filepath.Join(o.Dir, "current.bsm")}
	c.BidLog.Dir = filepath.Join(o.Dir, "bidlog")
	c.Store = config.Store{SQLite: filepath.Join(o.Dir, "bidsieve.db")}
	c.Log = config.Log{Level: "info", Format: "text"}
	sum := sha256.Sum256([]byte(o.AdminToken))
	c.Auth.Tokens = []config.Token{{Name: "e2e", Role: config.RoleAdmin, SHA256: hex.EncodeToString(sum[:])}}
	c.Breaker.MinCalls = 1_000_000
	for i := range c.DSPs {
		u, err := url.Parse(c.DSPs[i].Endpoint)
		if err != nil {
			return nil, fmt.Errorf("dsp %s: endpoint: %w", c.DSPs[i].Name, err)
		}
		u.Host = o.SimAddr
		c.DSPs[i].Endpoint = u.String()
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("serve config: %w", err)
	}
	return c, nil
}

// WriteConfig writes c as a YAML file that `bidsieve serve --config` reads back to c.
func WriteConfig(path string, c *config.Config) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
