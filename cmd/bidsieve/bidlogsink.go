package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bidsieve/bidsieve/bidlog/kafkalog"
	"github.com/bidsieve/bidsieve/gateway/telemetry"
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
	metricsListen := fs.String("metrics-listen", "", "serve Prometheus /metrics here (host:port); empty: none")
	verbose := fs.Bool("v", false, "debug logging (every batch written)")
	if err := parseFlags(fs, args, "brokers", "out"); err != nil {
		return err
	}
	var bs []string
	for b := range strings.SplitSeq(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			bs = append(bs, b)
		}
	}
	if len(bs) == 0 {
		return requiredErr("brokers", "out")
	}
	if *maxRows <= 0 || *flush < 10*time.Millisecond {
		return fmt.Errorf("%w: --max-rows must be > 0 and --flush-interval >= 10ms", errUsage)
	}
	log := textLogger(stderr, *verbose)
	s, err := kafkalog.NewSink(kafkalog.SinkOptions{
		Brokers: bs, Topic: *topic, Group: *group, Dir: *out,
		MaxRows: *maxRows, FlushInterval: *flush, Logger: log,
	})
	if err != nil {
		return err
	}
	if *metricsListen != "" {
		stop, err := serveSinkMetrics(*metricsListen, s, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	log.Info("bidlog-sink consuming", "brokers", bs, "topic", *topic, "group", *group, "out", *out,
		"max_rows", *maxRows, "flush_interval", *flush)
	return s.Run(ctx)
}

// serveSinkMetrics serves the sink's counts (and the Go runtime's) on addr at /metrics.
func serveSinkMetrics(addr string, s *kafkalog.Sink, log *slog.Logger) (stop func(), err error) {
	met, err := telemetry.NewMetrics()
	if err != nil {
		return nil, err
	}
	counter := func(name, help string, f func(kafkalog.SinkStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(s.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		counter("bidsieve_bidlog_sink_records_total", "Kafka records consumed.", func(st kafkalog.SinkStats) int64 { return st.Records }),
		counter("bidsieve_bidlog_sink_rows_written_total", "Rows written to durable Parquet files.", func(st kafkalog.SinkStats) int64 { return st.Rows }),
		counter("bidsieve_bidlog_sink_corrupt_records_total", "Records that did not decode, skipped.", func(st kafkalog.SinkStats) int64 { return st.Corrupt }),
		counter("bidsieve_bidlog_sink_files_total", "Parquet files written.", func(st kafkalog.SinkStats) int64 { return st.Files }),
		counter("bidsieve_bidlog_sink_commits_total", "Offset commits that succeeded.", func(st kafkalog.SinkStats) int64 { return st.Commits }),
		counter("bidsieve_bidlog_sink_orphan_files_removed_total", "Files of uncommitted batches removed before rewriting them.", func(st kafkalog.SinkStats) int64 { return st.Orphans }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bidsieve_bidlog_sink_assigned_partitions", Help: "Partitions assigned to this sink."},
			func() float64 { return float64(len(s.Stats().Assigned)) }),
	} {
		if err := met.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", met.Handler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("bidlog-sink metrics", "err", err)
		}
	}()
	log.Info("bidlog-sink metrics", "listen", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
