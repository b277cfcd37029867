package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/bidsieve/bidsieve/predictor"
	"github.com/bidsieve/bidsieve/training/evaluation"
)

// runEvaluate measures a model file on bid logs (docs/DESIGN.md, "Model metrics").
func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evaluate", stderr)
	model := fs.String("model", "", "model file (required)")
	logs := fs.String("logs", "", "directory of bid-log Parquet files to measure on, flat or in bidlog-sink's dt=/hour= folders (required)")
	recall := fs.Float64("recall", 0, "recall target (0: the model's trained target and stored thresholds)")
	asJSON := fs.Bool("json", false, "print one JSON object (keys: docs/DESIGN.md, \"Commands\") instead of a table")
	if err := parseFlags(fs, args, "model", "logs"); err != nil {
		return err
	}
	if *recall != 0 && !(*recall > 0 && *recall < 1) {
		return fmt.Errorf("%w: --recall %v must be in (0, 1)", errUsage, *recall)
	}
	m, err := predictor.Load(*model)
	if err != nil {
		return err
	}
	rep, err := evaluation.Evaluate(ctx, m, evaluation.Options{LogDir: *logs, RecallTarget: *recall})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(stdout)
}
