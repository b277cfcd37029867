package main

import (
	"context"
	"errors"
	"io"
)

// runEvaluate is not built yet; its issue owns this file.
func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
