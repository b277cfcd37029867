package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/bidlog/wire"
	"github.com/bidsieve/bidsieve/internal/waittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTopic = "bidsieve.bidlog"

// fastOpts shortens the client's backoffs and group timings, so that reconnects and
// rebalances take milliseconds rather than seconds.
var fastOpts = []kgo.Opt{
	kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
	kgo.MetadataMinAge(50 * time.Millisecond),
	kgo.FetchMaxWait(100 * time.Millisecond),
	kgo.HeartbeatInterval(100 * time.Millisecond),
	kgo.SessionTimeout(2 * time.Second),
	kgo.RebalanceTimeout(2 * time.Second),
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func newCluster(t testing.TB, partitions int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, testTopic), kfake.GroupMinSessionTimeout(time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testRows gives n distinct rows (request ids req-000000...) whose ts spans two hours, so
// that the sink writes two Hive folders.
func testRows(n int) []bidlog.Row {
	start := time.Date(2026, 12, 6, 13, 30, 0, 0, time.UTC).UnixMilli()
	rows := make([]bidlog.Row, n)
	for i := range rows {
		r := &rows[i]
		r.TS = start + int64(i)*int64(time.Hour/time.Millisecond)/int64(n)
		r.RequestID = fmt.Sprintf("req-%06d", i)
		r.ImpID = "1"
		r.DSP = []string{"alpha", "bravo", "charlie"}[i%3]
		r.Country, r.DeviceType, r.Channel, r.Domain = "USA", "phone", "app", "com.example.game"
		r.UserID = i%2 == 0
		r.FloorCPM = float64(i%9) / 10
		r.HourUTC = int32(time.UnixMilli(r.TS).UTC().Hour())
		r.Decision, r.Propensity, r.Score, r.Threshold = bidlog.DecisionSent, 1, 0.4, 0.1
		r.Outcome = bidlog.OutcomeNoBid
		if i%4 == 0 {
			r.Outcome, r.BidCPM, r.Won, r.ClearCPM = bidlog.OutcomeBid, 1.5, true, 1.2
		}
		r.LatencyMS = float64(i % 80)
	}
	return rows
}

func newProducer(t *testing.T, brokers []string, o ProducerOptions) *Producer {
	t.Helper()
	o.Brokers, o.Topic = brokers, testTopic
	o.ExtraOpts = append(o.ExtraOpts, fastOpts...)
	p, err := NewProducer(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logAll logs rows in auctions of 4 rows from 4 goroutines, as the gateway does.
func logAll(p *Producer, rows []bidlog.Row) {
	var wg sync.WaitGroup
	const workers = 4
	for w := range workers {
		wg.Go(func() {
			for i := w * 4; i < len(rows); i += workers * 4 {
				batch := append([]bidlog.Row(nil), rows[i:min(i+4, len(rows))]...)
				p.Log(batch)
			}
		})
	}
	wg.Wait()
}

// produceAll logs rows with logAll, then closes p, waiting up to 10 s until every row is
// acknowledged.
func produceAll(t *testing.T, p *Producer, rows []bidlog.Row) {
	t.Helper()
	logAll(p, rows)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// roundRobin makes p spread its rows over all partitions evenly (the default sticky
// partitioner may give a short run one partition only).
func roundRobin(t *testing.T, p *Producer, brokers []string) {
	t.Helper()
	p.cl.Close()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner())}, fastOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	p.cl = cl
}

type runningSink struct {
	*Sink
	cancel context.CancelFunc
	done   chan error
}

func startSink(t *testing.T, brokers []string, dir string, o SinkOptions) *runningSink {
	t.Helper()
	o.Brokers, o.Topic, o.Dir = brokers, testTopic, dir
	if o.Group == "" {
		o.Group = "sinks"
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	o.ExtraOpts = append(o.ExtraOpts, fastOpts...)
	s, err := NewSink(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningSink{Sink: s, cancel: cancel, done: make(chan error, 1)}
	go func() { rs.done <- s.Run(ctx) }()
	t.Cleanup(func() { rs.stop(t) })
	return rs
}

// stop ends the sink as SIGTERM does and returns Run's error.
func (rs *runningSink) stop(t *testing.T) error {
	t.Helper()
	rs.cancel()
	select {
	case err, ok := <-rs.done:
		if !ok {
			return nil
		}
		close(rs.done)
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("sink did not stop within 10s")
		return nil
	}
}

// readDir reads every row under dir through bidlog's reader (what train reads), sorted by
// request id.
func readDir(t *testing.T, dir string) []bidlog.Row {
	t.Helper()
	out, err := bidlog.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RequestID < out[j].RequestID })
	return out
}

func TestRowsArriveInParquetOnceEach(t *testing.T) {
	c := newCluster(t, 3)
	defer c.Close()
	rows := testRows(3000)
	p := newProducer(t, c.ListenAddrs(), ProducerOptions{Linger: 2 * time.Millisecond})
	produceAll(t, p, rows)
	if st := p.Stats(); st.Acked != int64(len(rows)) || st.DroppedFull+st.DroppedFailed+st.DroppedClosed != 0 {
		t.Fatalf("producer stats %+v, want all %d acked", st, len(rows))
	}

	dir := t.TempDir()
	s := startSink(t, c.ListenAddrs(), dir, SinkOptions{MaxRows: 700})
	waittest.For(t, "all rows written", func() bool { return s.Stats().Rows >= int64(len(rows)) })
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, readDir(t, dir)); diff != "" {
		t.Fatalf("rows in Parquet differ from rows logged (-logged +parquet):\n%s", diff)
	}
	// The Hive layout: every file sits in the folder of its rows' hour.
	files, err := bidlog.ListDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	hours := map[string]bool{}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.Path)
		h := filepath.Dir(rel)
		hours[h] = true
		if HourDir(f.MinTS) != h || HourDir(f.MaxTS) != h {
			t.Errorf("%s holds rows from %s to %s", rel, HourDir(f.MinTS), HourDir(f.MaxTS))
		}
	}
	if !hours["dt=2026-12-06/hour=13"] || !hours["dt=2026-12-06/hour=14"] || len(hours) != 2 {
		t.Errorf("hour folders %v, want dt=2026-12-06/hour=13 and hour=14", hours)
	}

	// A sink started again in the group finds everything committed: nothing more.
	s2 := startSink(t, c.ListenAddrs(), dir, SinkOptions{})
	time.Sleep(500 * time.Millisecond)
	if err := s2.stop(t); err != nil {
		t.Fatal(err)
	}
	if st := s2.Stats(); st.Records != 0 {
		t.Errorf("restarted sink consumed %d records; all were committed", st.Records)
	}
}

// While the broker is away, Log returns at once, what fits in the buffer waits, the rest
// is dropped and counted; once the broker is back the buffered rows arrive.
func TestBrokerOutageNeverBlocksAndCatchesUp(t *testing.T) {
	port := freePort(t) // nothing listens yet: the broker is down
	addr := []string{fmt.Sprintf("127.0.0.1:%d", port)}
	const buffered = 1000
	p := newProducer(t, addr, ProducerOptions{MaxBufferedRecords: buffered})
	rows := testRows(5000)
	start := time.Now()
	for i := 0; i < len(rows); i += 4 {
		t0 := time.Now()
		p.Log(append([]bidlog.Row(nil), rows[i:i+4]...))
		if d := time.Since(t0); d > 100*time.Millisecond {
			t.Fatalf("Log blocked %s with the broker down", d)
		}
	}
	spent := time.Since(start)
	st := p.Stats()
	if st.Produced != buffered || st.DroppedFull != int64(len(rows)-buffered) || st.Acked != 0 {
		t.Fatalf("with the broker down: %+v, want %d buffered and %d dropped (buffer_full)", st, buffered, len(rows)-buffered)
	}
	t.Logf("%d rows logged with the broker down in %s (%.0f ns a row)", len(rows), spent, float64(spent.Nanoseconds())/float64(len(rows)))

	c := newCluster(t, 2, kfake.Ports(port)) // the broker comes back
	defer c.Close()
	waittest.For(t, "the buffered rows acknowledged", func() bool { return p.Stats().Acked == buffered })
	// And new rows flow again.
	more := testRows(5100)[5000:]
	p.Log(more)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Acked != buffered+int64(len(more)) {
		t.Fatalf("after recovery %+v, want %d acked", st, buffered+len(more))
	}
	dir := t.TempDir()
	s := startSink(t, c.ListenAddrs(), dir, SinkOptions{})
	want := append(append([]bidlog.Row(nil), rows[:buffered]...), more...)
	waittest.For(t, "the rows written", func() bool { return s.Stats().Rows >= int64(len(want)) })
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, readDir(t, dir)); diff != "" {
		t.Fatalf("rows in Parquet differ from the rows kept (-kept +parquet):\n%s", diff)
	}
}

// A sink that stops after a file is durable and before its commit, then restarts,
// duplicates nothing: the uncommitted files are removed and written again.
func TestSinkCrashBeforeCommitDuplicatesNothing(t *testing.T) {
	c := newCluster(t, 2)
	defer c.Close()
	rows := testRows(4000)
	p := newProducer(t, c.ListenAddrs(), ProducerOptions{})
	produceAll(t, p, rows)
	dir := t.TempDir()
	var mu sync.Mutex
	flushes := 0
	s1 := startSink(t, c.ListenAddrs(), dir, SinkOptions{MaxRows: 300, crashBeforeCommit: func(int32) error {
		mu.Lock()
		defer mu.Unlock()
		if flushes++; flushes == 3 {
			return errors.New("crash")
		}
		return nil
	}})
	select {
	case err := <-s1.done:
		close(s1.done)
		if !errors.Is(err, errCrashed) {
			t.Fatalf("crashed sink: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sink did not crash")
	}
	if st := s1.Stats(); st.Files < 3 || st.Commits != 2 {
		t.Fatalf("before the crash: %+v; want >= 3 files and 2 commits", st)
	}

	s2 := startSink(t, c.ListenAddrs(), dir, SinkOptions{MaxRows: 300})
	waittest.For(t, "the rest written", func() bool {
		// s1 counts the rows of committed batches only; s2 starts after them.
		return s1.Stats().Rows+s2.Stats().Rows >= int64(len(rows))
	})
	if err := s2.stop(t); err != nil {
		t.Fatal(err)
	}
	if st := s2.Stats(); st.Orphans == 0 {
		t.Errorf("the restarted sink removed no uncommitted file: %+v", st)
	}
	if diff := cmp.Diff(rows, readDir(t, dir)); diff != "" {
		t.Fatalf("after a crash and a restart (-logged +parquet):\n%s", diff)
	}
}

func TestTwoSinksShareThePartitions(t *testing.T) {
	c := newCluster(t, 4)
	defer c.Close()
	dir := t.TempDir()
	a := startSink(t, c.ListenAddrs(), dir, SinkOptions{MaxRows: 200})
	b := startSink(t, c.ListenAddrs(), dir, SinkOptions{MaxRows: 200})
	waittest.For(t, "both sinks assigned partitions", func() bool {
		na, nb := len(a.Stats().Assigned), len(b.Stats().Assigned)
		return na > 0 && nb > 0 && na+nb == 4
	})
	rows := testRows(4000)
	p := newProducer(t, c.ListenAddrs(), ProducerOptions{})
	roundRobin(t, p, c.ListenAddrs())
	produceAll(t, p, rows)
	waittest.For(t, "all rows written by the two", func() bool { return a.Stats().Rows+b.Stats().Rows >= int64(len(rows)) })
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := b.stop(t); err != nil {
		t.Fatal(err)
	}
	sa, sb := a.Stats(), b.Stats()
	if len(sa.Partitions) == 0 || len(sb.Partitions) == 0 {
		t.Errorf("one sink got no partition: %v and %v", sa.Partitions, sb.Partitions)
	}
	for part := range sa.Partitions {
		if _, both := sb.Partitions[part]; both {
			t.Errorf("partition %d written by both sinks", part)
		}
	}
	t.Logf("partitions (rows) of sink a %v, of sink b %v", sa.Partitions, sb.Partitions)
	if diff := cmp.Diff(rows, readDir(t, dir)); diff != "" {
		t.Fatalf("two sinks (-logged +parquet):\n%s", diff)
	}
}

func TestCorruptRecordIsSkipped(t *testing.T) {
	c := newCluster(t, 1)
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(testTopic))
	if err != nil {
		t.Fatal(err)
	}
	rows := testRows(10)
	var values [][]byte
	for i := range rows {
		values = append(values, wire.Append(nil, &rows[i]))
		switch i {
		case 3:
			values = append(values, []byte("not a bid-log row"))
		case 6:
			v := wire.Append(nil, &rows[i])
			v[0] = wire.Version + 1 // a version this build does not read
			values = append(values, v, nil)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	dir := t.TempDir()
	s := startSink(t, c.ListenAddrs(), dir, SinkOptions{})
	waittest.For(t, "all records consumed", func() bool { return s.Stats().Records == int64(len(values)) && s.Stats().Commits > 0 })
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Corrupt != 3 || st.Rows != int64(len(rows)) {
		t.Errorf("stats %+v, want 3 corrupt and %d rows", st, len(rows))
	}
	if diff := cmp.Diff(rows, readDir(t, dir)); diff != "" {
		t.Fatalf("(-valid +parquet):\n%s", diff)
	}
}

func TestFileNames(t *testing.T) {
	for _, c := range []struct {
		topic string
		p     int32
		first int64
	}{{"bidsieve.bidlog", 0, 0}, {"a-1", 2, 123456789}, {"x", 11, 1 << 40}} {
		name := FileName(c.topic, c.p, c.first)
		topic, p, first, ok := ParseFileName(name)
		if !ok || topic != c.topic || p != c.p || first != c.first {
			t.Errorf("ParseFileName(%q) = %q %d %d %v", name, topic, p, first, ok)
		}
	}
	for _, bad := range []string{"gateway-20261206T130000.000Z-000001.parquet", "t-1-12.parquet", "t-x-00000000000000000001.parquet", "t-1-00000000000000000001.tmp"} {
		if _, _, _, ok := ParseFileName(bad); ok {
			t.Errorf("ParseFileName(%q) took a name that is not the sink's", bad)
		}
	}
	if got := HourDir(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()); got != "dt=2026-01-02/hour=03" {
		t.Errorf("HourDir = %q", got)
	}
}

// A sink holding unwritten rows of partitions that a rebalance takes away writes and
// commits them in the revoke: the new owner starts after them, nothing is lost or doubled.
func TestRevokedPartitionsAreWrittenAndCommitted(t *testing.T) {
	c := newCluster(t, 4)
	defer c.Close()
	rows := testRows(2000)
	p := newProducer(t, c.ListenAddrs(), ProducerOptions{})
	roundRobin(t, p, c.ListenAddrs())
	produceAll(t, p, rows)
	dir := t.TempDir()
	// a holds everything in memory: no size or time flush before the rebalance.
	a := startSink(t, c.ListenAddrs(), dir, SinkOptions{MaxRows: 1 << 20, FlushInterval: time.Hour})
	waittest.For(t, "a to consume everything", func() bool { return a.Stats().Records == int64(len(rows)) })
	if st := a.Stats(); st.Rows != 0 || st.Files != 0 {
		t.Fatalf("a wrote before any rebalance: %+v", st)
	}
	b := startSink(t, c.ListenAddrs(), dir, SinkOptions{MaxRows: 1 << 20, FlushInterval: time.Hour})
	waittest.For(t, "the rebalance", func() bool {
		na, nb := len(a.Stats().Assigned), len(b.Stats().Assigned)
		return na > 0 && nb > 0 && na+nb == 4
	})
	if st := a.Stats(); st.Rows == 0 || st.Commits == 0 {
		t.Errorf("a wrote nothing on revoke: %+v", st)
	}
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := b.stop(t); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Records != 0 {
		t.Errorf("b consumed %d records that a had committed on revoke", st.Records)
	}
	if diff := cmp.Diff(rows, readDir(t, dir)); diff != "" {
		t.Fatalf("after a rebalance (-logged +parquet):\n%s", diff)
	}
}

// The broker goes away mid-stream with a sink consuming and comes back with its log (kfake
// persisting to a folder): the rows acknowledged before, the rows buffered during the
// outage and the rows after all reach Parquet once; the rows dropped at the full buffer
// are exactly the ones counted.
func TestOutageMidStreamLosesOnlyTheCountedDrops(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	opts := []kfake.Opt{kfake.Ports(port), kfake.DataDir(data)}
	c := newCluster(t, 2, opts...)
	addr := c.ListenAddrs()
	const buffered = 1000
	p := newProducer(t, addr, ProducerOptions{MaxBufferedRecords: buffered})
	rows := testRows(4000)
	dir := t.TempDir()
	s := startSink(t, addr, dir, SinkOptions{})

	logAll(p, rows[:1000])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waittest.For(t, "the first rows in Parquet", func() bool { return s.Stats().Rows == 1000 })

	c.Close() // the broker goes away
	for i := 1000; i < 3000; i += 4 {
		p.Log(append([]bidlog.Row(nil), rows[i:i+4]...))
	}
	if st := p.Stats(); st.DroppedFull != 1000 || st.Buffered != buffered {
		t.Fatalf("during the outage: %+v, want %d buffered and 1000 dropped", st, buffered)
	}

	c = newCluster(t, 2, opts...) // back, with its log
	defer c.Close()
	waittest.For(t, "the buffered rows acknowledged", func() bool { return p.Stats().Acked == 2000 })
	logAll(p, rows[3000:])
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := append(append([]bidlog.Row(nil), rows[:2000]...), rows[3000:]...)
	waittest.For(t, "every kept row in Parquet", func() bool { return s.Stats().Rows >= int64(len(want)) })
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, readDir(t, dir)); diff != "" {
		t.Fatalf("across the outage (-kept +parquet):\n%s", diff)
	}
}
