package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/bidsieve/bidsieve/internal/logtest"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/internal/waittest"
)

// The fleet's bid-log path end to end: serve with bidlog.kafka sends each auction's rows
// to Kafka (and writes no local file), `bidsieve bidlog-sink` writes them as Parquet in
// the Hive layout, and bidlog's reader (what train and evaluate use) reads each row once.
func TestServeToKafkaToBidLogSink(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "bidsieve.bidlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")

	dspSrv := noBidDSP(nil)
	defer dspSrv.Close()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`listen: %q
admin_listen: ""
shaping: {mode: off}
%sdsps:
  - {name: a, endpoint: %q}
  - {name: b, endpoint: %q}
`, addr, dataKeys(dir), dspSrv.URL+"/bid/a", dspSrv.URL+"/bid/b")
	cfg = strings.Replace(cfg, "bidlog: {dir:", fmt.Sprintf("bidlog: {kafka: {brokers: [%q], linger: 1ms}, dir:", c.ListenAddrs()[0]), 1)
	path := writeConfig(t, dir, cfg)
	s := startServe(t, path, "http://"+addr+"/readyz")
	defer s.stop()
	// Under load: 8 clients at once, 800 auctions, 2 rows each.
	const workers, perWorker = 8, 100
	const auctions = workers * perWorker
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range perWorker {
				status, err := postAuction(s.client, addr, fmt.Sprintf("r%d-%03d", w, i))
				if err != nil {
					errs <- err
					return
				}
				if status != http.StatusNoContent {
					errs <- fmt.Errorf("auction r%d-%03d: status %d", w, i, status)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s.stop()
	waitStop(t, s.done, "serve") // Close waits for Kafka's acknowledgements
	if !strings.Contains(s.stderr.String(), "bid log to Kafka") {
		t.Errorf("serve did not say it logs to Kafka:\n%s", s.stderr.String())
	}
	if files, _ := bidlog.ListFiles(filepath.Join(dir, "bidlog")); len(files) != 0 {
		t.Errorf("with bidlog.kafka set serve also wrote %d local files", len(files))
	}

	out := filepath.Join(dir, "parquet")
	metricsAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var sinkErr logtest.Buffer
	go func() {
		done <- runBidLogSink(ctx, []string{"--brokers", brokers, "--group", "g", "--out", out, "--flush-interval", "100ms", "--metrics-listen", metricsAddr}, io.Discard, &sinkErr)
	}()
	rowsIn := func() int64 {
		files, err := bidlog.ListFiles(out)
		if err != nil {
			return 0
		}
		var n int64
		for _, f := range files {
			n += f.Rows
		}
		return n
	}
	waittest.For(t, "the rows in Parquet", func() bool { return rowsIn() >= 2*auctions })
	metrics := ""
	waittest.For(t, "the sink's metrics", func() bool {
		resp, err := s.client.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
		return strings.Contains(metrics, fmt.Sprintf("bidsieve_bidlog_sink_rows_written_total %d", 2*auctions))
	})
	for _, want := range []string{"bidsieve_bidlog_sink_corrupt_records_total 0", "bidsieve_bidlog_sink_assigned_partitions 2"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("sink /metrics lacks %q", want)
		}
	}
	s.client.CloseIdleConnections()
	cancel() // SIGTERM
	waitStop(t, done, "bidlog-sink")

	files, err := bidlog.ListDir(out)
	if err != nil {
		t.Fatal(err)
	}
	rd := bidlog.NewReader(files)
	defer rd.Close()
	buf := make([]bidlog.Row, 256)
	seen := map[string]int{}
	n := 0
	for {
		k, err := rd.Read(buf) // a batch at a time, then 0 and io.EOF
		for _, r := range buf[:k] {
			seen[r.RequestID+"/"+r.DSP]++
		}
		n += k
		if k == 0 || err != nil {
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	if n != 2*auctions || len(seen) != 2*auctions {
		t.Fatalf("read %d rows, %d distinct (request, dsp); want %d each", n, len(seen), 2*auctions)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(out, f.Path)
		if !strings.HasPrefix(rel, "dt=") || !strings.Contains(rel, "/hour=") {
			t.Errorf("file %s is not in the Hive layout", rel)
		}
	}
	if !strings.Contains(sinkErr.String(), "bidlog-sink stopped") {
		t.Errorf("bidlog-sink did not report its stop:\n%s", sinkErr.String())
	}
}

func TestBidLogSinkFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"--brokers", "k:9092"}, {"--out", "x"}, {"--brokers", "k:9092", "--out", "x", "--max-rows", "0"}} {
		if err := runBidLogSink(context.Background(), args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("bidlog-sink %v: %v, want a usage error", args, err)
		}
	}
}
