package main

import (
	"context"
	"errors"
	"io"
)

// runLoadtest is not built yet; its issue owns this file.
func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
