package main

import (
	"context"
	"errors"
	"io"
)

// runTrain is not built yet; its issue owns this file.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
