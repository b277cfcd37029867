// Command bidsieve is the one binary of bidsieve: the gateway, the DSP simulator, the
// offline simulator, training, evaluation and the load tester, as subcommands. It is the
// only place where concrete types from the packages are wired together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's name; it
// returns errUsage (possibly wrapped) for a bad command line.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var errUsage = errors.New("usage")

func commands() []command {
	return []command{
		{"serve", "run the gateway (auction endpoint, admin API, web UI, /metrics)", runServe},
		{"dsp-sim", "simulated DSPs over HTTP, POST /bid/{name}", runDSPSim},
		{"simulate", "write labelled bid logs from simulator profiles, without network", runSimulate},
		{"train", "train the bid predictor on bid logs and write the model file", runTrain},
		{"evaluate", "metrics of a model file on bid logs", runEvaluate},
		{"retrain", "train a challenger on the bid log, promote it over model.path if it passes", runRetrain},
		{"loadtest", "open-loop load against a gateway, with latency percentiles", runLoadtest},
		{"bidlog-sink", "consume the Kafka bid log and write Hive-partitioned Parquet for train", runBidLogSink},
	}
}

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			_, _ = fmt.Fprintf(stderr, "bidsieve %s: %v\n", c.name, err)
			return 2
		default:
			_, _ = fmt.Fprintf(stderr, "bidsieve %s: %v\n", c.name, err)
			return 1
		}
	}
	_, _ = fmt.Fprintf(stderr, "bidsieve: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	_, _ = fmt.Fprintln(w, "bidsieve: a DSP traffic-shaping gateway\n\nUsage: bidsieve COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		_, _ = fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	_, _ = fmt.Fprintln(w, "\nRun 'bidsieve COMMAND -h' for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting, so that
// subcommands can be tested in-process.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bidsieve "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and turns a parse error into errUsage; so is an empty value of
// any flag named in required (names without dashes).
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return requiredErr(required...)
		}
	}
	return nil
}

// requiredErr is the usage error for flags that must be given: "--a is required",
// "--a and --b are required".
func requiredErr(names ...string) error {
	flags := make([]string, len(names))
	for i, n := range names {
		flags[i] = "--" + n
	}
	if len(flags) == 1 {
		return fmt.Errorf("%w: %s is required", errUsage, flags[0])
	}
	last := len(flags) - 1
	return fmt.Errorf("%w: %s and %s are required", errUsage, strings.Join(flags[:last], ", "), flags[last])
}

// textLogger is the text log of a command on w, at debug level when debug is set and at
// info level otherwise.
func textLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
