package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/bidlog/kafkalog"
)

// runBidLogSink is `bidsieve bidlog-sink`: it consumes the bid-log topic in a consumer
// group and writes the Hive-partitioned Parquet files that train reads, until SIGTERM or
// SIGINT, then writes and commits what it holds and exits.
func runBidLogSink(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("bidlog-sink", stderr)
	brokers := fs.String("brokers", "", "seed brokers, host:port, comma-separated (required)")
	topic := fs.String("topic", "bidsieve.bidlog", "the bid-log topic (bidlog.kafka.topic of the gateways)")
	group := fs.String("group", "bidlog-sink", "consumer group; sinks in one group share the partitions")
	out := fs.String("out", "", "root of the Parquet tree, dt=YYYY-MM-DD/hour=HH/ (required); `bidsieve train --logs` reads it")
	maxRows := fs.Int("max-rows", kafkalog.DefaultMaxRows, "rows of a partition buffered before they are written (bounds memory: about 400 B a row)")
	flush := fs.Duration("flush-interval", kafkalog.DefaultFlushInterval, "longest a row waits before its file is written and its offset committed")
	verbose := fs.Bool("v", false, "debug logging (every batch written)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var bs []string
	for b := range strings.SplitSeq(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			bs = append(bs, b)
		}
	}
	if len(bs) == 0 || *out == "" {
		return fmt.Errorf("%w: --brokers and --out are required", errUsage)
	}
	if *maxRows <= 0 || *flush < 10*time.Millisecond {
		return fmt.Errorf("%w: --max-rows must be > 0 and --flush-interval >= 10ms", errUsage)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	s, err := kafkalog.NewSink(kafkalog.SinkOptions{
		Brokers: bs, Topic: *topic, Group: *group, Dir: *out,
		MaxRows: *maxRows, FlushInterval: *flush, Logger: log,
	})
	if err != nil {
		return err
	}
	log.Info("bidlog-sink consuming", "brokers", bs, "topic", *topic, "group", *group, "out", *out,
		"max_rows", *maxRows, "flush_interval", *flush)
	return s.Run(ctx)
}
