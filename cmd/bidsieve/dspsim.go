package main

import (
	"context"
	"errors"
	"io"
)

// runDSPSim is not built yet; its issue owns this file.
func runDSPSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
