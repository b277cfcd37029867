package e2e

import (
	"context"
	"fmt"

	"github.com/bidsieve/bidsieve/config"
)

// CompareModes runs cfg's requests with shaping off, in shadow mode and filtering, and
// compares the three runs.
func CompareModes(ctx context.Context, cfg *Config) (*Report, error) {
	runs := map[string]*RunResult{}
	for _, mode := range []string{config.ModeOff, config.ModeShadow, config.ModeFilter} {
		r, err := Run(ctx, cfg, mode)
		if err != nil {
			return nil, fmt.Errorf("%s run: %w", mode, err)
		}
		runs[mode] = r
	}
	return Compare(cfg, runs[config.ModeOff], runs[config.ModeShadow], runs[config.ModeFilter]), nil
}
