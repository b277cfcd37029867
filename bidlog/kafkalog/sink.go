package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/time/rate"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/bidlog/wire"
)

// Footer metadata of the sink's files: where in the topic their rows came from.
const (
	MetaTopic       = "bidsieve.kafka.topic"
	MetaPartition   = "bidsieve.kafka.partition"
	MetaFirstOffset = "bidsieve.kafka.first_offset"
	MetaLastOffset  = "bidsieve.kafka.last_offset"
)

// Defaults of SinkOptions.
const (
	DefaultMaxRows       = 200_000
	DefaultFlushInterval = time.Minute
)

// SinkOptions configures a Sink. Brokers, Topic, Group and Dir are required.
type SinkOptions struct {
	Brokers []string
	Topic   string
	Group   string // the consumer group; sinks in one group share the partitions
	Dir     string // the root of the Hive layout, dt=YYYY-MM-DD/hour=HH/
	// MaxRows writes a partition's rows once this many are buffered; DefaultMaxRows
	// when 0. It bounds the sink's memory: about MaxRows x 400 B per assigned partition.
	MaxRows int
	// FlushInterval writes a partition's rows once the oldest has waited this long, so
	// that files (and commits) follow the stream; DefaultFlushInterval when 0.
	FlushInterval time.Duration
	Logger        *slog.Logger // nil: no logs
	ExtraOpts     []kgo.Opt    // appended to the client's options (tests: short timeouts)

	// crashBeforeCommit, a test hook, is called after a batch's files are durable and
	// before its offset is committed; an error stops the sink there, as a crash would.
	crashBeforeCommit func(partition int32) error
}

// SinkStats counts what a Sink did.
type SinkStats struct {
	Records    int64           // records consumed
	Rows       int64           // rows written to durable files
	Corrupt    int64           // records that did not decode, skipped
	Files      int64           // files written
	Commits    int64           // offset commits that succeeded
	Orphans    int64           // files of an uncommitted batch removed before rewriting it
	Partitions map[int32]int64 // rows written per partition
	Assigned   []int32         // partitions assigned now
}

// Sink consumes the bid-log topic in a consumer group and writes Parquet files. Run
// owns it; Stats may be called from any goroutine.
type Sink struct {
	o   SinkOptions
	cl  *kgo.Client
	log *slog.Logger
	lim *rate.Limiter

	mu     sync.Mutex // guards parts, stats and dead against the rebalance callbacks
	parts  map[int32]*partBatch
	assign map[int32]bool
	stats  SinkStats
	dead   bool // stopped by crashBeforeCommit: the callbacks must do nothing more
}

// partBatch is the uncommitted work of one assigned partition.
type partBatch struct {
	rows    []bidlog.Row
	first   int64       // offset of the batch's first record
	last    *kgo.Record // the batch's last record: its offset + 1 is committed
	since   time.Time   // when the batch's first record came
	resumed bool        // orphans removed since the partition was assigned
}

// NewSink connects a sink (lazily: the client dials when Run polls).
func NewSink(o SinkOptions) (*Sink, error) {
	if len(o.Brokers) == 0 || o.Topic == "" || o.Group == "" || o.Dir == "" {
		return nil, errors.New("bidlog-sink: brokers, topic, group and out are required")
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bidlog-sink: %w", err)
	}
	s := &Sink{o: o, log: o.Logger, lim: rate.NewLimiter(rate.Every(10*time.Second), 5), parts: map[int32]*partBatch{}, assign: map[int32]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.stats.Partitions = map[int32]int64{}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeTopics(o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // a new group reads the whole topic
		kgo.DisableAutoCommit(),                           // offsets are committed after the files
		kgo.BlockRebalanceOnPoll(),                        // callbacks never run amid a batch
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
		kgo.WithLogger(kgoLogger{log: s.log, lim: rate.NewLimiter(rate.Every(10*time.Second), 3)}),
	}
	opts = append(opts, o.ExtraOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("bidlog-sink: %w", err)
	}
	s.cl = cl
	return s, nil
}

var errCrashed = errors.New("bidlog-sink: stopped before a commit (test crash)")

// Run consumes until ctx ends, then writes and commits what it holds, leaves the group
// and returns nil. An error means the sink cannot go on (a file could not be written:
// the batch's offset was not committed, so nothing is lost).
func (s *Sink) Run(ctx context.Context) error {
	tick := min(s.o.FlushInterval/4, time.Second)
	var runErr error
	for ctx.Err() == nil && runErr == nil {
		pctx, cancel := context.WithTimeout(ctx, tick)
		fetches := s.cl.PollRecords(pctx, 10_000)
		cancel()
		if fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			if s.lim.Allow() {
				s.log.Warn("bidlog-sink: fetch", "topic", t, "partition", p, "err", err)
			}
		})
		s.mu.Lock()
		fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
			if runErr != nil || ft.Topic != s.o.Topic {
				return
			}
			for _, r := range ft.Records {
				if runErr = s.add(ft.Partition, r); runErr != nil {
					return
				}
				if b := s.parts[ft.Partition]; len(b.rows) >= s.o.MaxRows {
					if runErr = s.flush(ctx, ft.Partition, b); runErr != nil {
						return
					}
				}
			}
		})
		now := time.Now()
		for p, b := range s.parts {
			if runErr != nil {
				break
			}
			if len(b.rows) >= s.o.MaxRows || (b.last != nil && now.Sub(b.since) >= s.o.FlushInterval) {
				runErr = s.flush(ctx, p, b)
			}
		}
		s.mu.Unlock()
		s.cl.AllowRebalance()
	}
	if errors.Is(runErr, errCrashed) {
		s.cl.Close()
		return runErr
	}
	// Shutdown: write and commit everything held, with a context of its own (ctx is over).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if runErr == nil {
		s.mu.Lock()
		for p, b := range s.parts {
			if err := s.flush(sctx, p, b); err != nil {
				runErr = err
				break
			}
		}
		s.mu.Unlock()
	}
	s.cl.AllowRebalance()
	s.cl.Close() // leaves the group; revoked finds nothing left to write
	st := s.Stats()
	s.log.Info("bidlog-sink stopped", "records", st.Records, "rows", st.Rows, "files", st.Files, "corrupt", st.Corrupt, "orphans_removed", st.Orphans)
	return runErr
}

// add takes one record of partition p; s.mu is held.
func (s *Sink) add(p int32, r *kgo.Record) error {
	b := s.parts[p]
	if b == nil {
		b = &partBatch{first: -1}
		s.parts[p] = b
	}
	if !b.resumed {
		// The first record since the partition was assigned is where consumption resumed:
		// files of this partition from here on were never committed.
		n, err := s.removeOrphans(p, r.Offset)
		if err != nil {
			return err
		}
		s.stats.Orphans += int64(n)
		if n > 0 {
			s.log.Info("bidlog-sink: removed the files of an uncommitted batch", "partition", p, "from_offset", r.Offset, "files", n)
		}
		b.resumed = true
	}
	if b.last == nil {
		b.first, b.since = r.Offset, time.Now()
	}
	b.last = r
	s.stats.Records++
	b.rows = append(b.rows, bidlog.Row{})
	if err := wire.Decode(r.Value, &b.rows[len(b.rows)-1]); err != nil {
		b.rows = b.rows[:len(b.rows)-1]
		s.stats.Corrupt++
		if s.lim.Allow() {
			s.log.Error("bidlog-sink: corrupt record skipped", "partition", p, "offset", r.Offset, "err", err)
		}
	}
	return nil
}

// flush writes partition p's batch, one durable file per hour of row time, then commits
// the offset after its last record; s.mu is held.
func (s *Sink) flush(ctx context.Context, p int32, b *partBatch) error {
	if b.last == nil {
		return nil
	}
	var hours []string
	byHour := map[string][]bidlog.Row{}
	for _, r := range b.rows {
		h := HourDir(r.TS)
		if _, ok := byHour[h]; !ok {
			hours = append(hours, h)
		}
		byHour[h] = append(byHour[h], r)
	}
	name := FileName(s.o.Topic, p, b.first)
	meta := map[string]string{
		MetaTopic: s.o.Topic, MetaPartition: strconv.Itoa(int(p)),
		MetaFirstOffset: strconv.FormatInt(b.first, 10), MetaLastOffset: strconv.FormatInt(b.last.Offset, 10),
	}
	for _, h := range hours {
		dir := filepath.Join(s.o.Dir, h)
		if err := s.mkdir(dir); err != nil {
			return err
		}
		if _, err := bidlog.WriteFile(filepath.Join(dir, name), byHour[h], meta); err != nil {
			return fmt.Errorf("bidlog-sink: partition %d offsets %d-%d: %w", p, b.first, b.last.Offset, err)
		}
		s.stats.Files++
	}
	if s.o.crashBeforeCommit != nil {
		if err := s.o.crashBeforeCommit(p); err != nil {
			s.dead = true
			return errCrashed
		}
	}
	// The commit outlives a cancelled ctx (SIGTERM amid a batch): the files are written,
	// committing them now saves rewriting them after the restart.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.cl.CommitRecords(cctx, b.last); err != nil {
		// The files stay: a later commit covers them, and if none comes (a crash) the
		// next owner of the partition removes them before writing the records again.
		if s.lim.Allow() {
			s.log.Error("bidlog-sink: commit failed", "partition", p, "offset", b.last.Offset+1, "err", err)
		}
	} else {
		s.stats.Commits++
	}
	s.stats.Rows += int64(len(b.rows))
	s.stats.Partitions[p] += int64(len(b.rows))
	s.log.Debug("bidlog-sink: batch written", "partition", p, "first", b.first, "last", b.last.Offset, "rows", len(b.rows), "files", len(hours))
	clear(b.rows)
	b.rows, b.last, b.first = b.rows[:0], nil, -1
	return nil
}

// mkdir creates a folder of the layout and makes its entry durable in its parent.
func (s *Sink) mkdir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bidlog-sink: %w", err)
	}
	for d := dir; d != filepath.Clean(s.o.Dir); d = filepath.Dir(d) {
		if err := bidlog.SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// removeOrphans removes this sink's files of partition p whose first offset is at or
// after from, and the partition's temporary files, and returns how many files it removed.
func (s *Sink) removeOrphans(p int32, from int64) (int, error) {
	n := 0
	err := filepath.WalkDir(s.o.Dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		name := e.Name()
		tmp := strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
		if tmp {
			name = strings.TrimPrefix(name, ".")
			if i := strings.LastIndex(name, ".parquet-"); i >= 0 {
				name = name[:i+len(".parquet")]
			}
		}
		topic, part, first, ok := ParseFileName(name)
		if !ok || topic != s.o.Topic || part != p || (!tmp && first < from) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		if !tmp {
			n++
		}
		return bidlog.SyncDir(filepath.Dir(path))
	})
	if err != nil {
		return n, fmt.Errorf("bidlog-sink: remove uncommitted files: %w", err)
	}
	return n, nil
}

// assigned notes the partitions given.
func (s *Sink) assigned(_ context.Context, _ *kgo.Client, given map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range given[s.o.Topic] {
		s.assign[p] = true
	}
	s.log.Info("bidlog-sink: partitions assigned", "partitions", given[s.o.Topic])
}

// revoked writes and commits the batches of the partitions taken away.
func (s *Sink) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return
	}
	for _, p := range revoked[s.o.Topic] {
		delete(s.assign, p)
		if b := s.parts[p]; b != nil {
			if err := s.flush(ctx, p, b); err != nil {
				// Not committed: the next owner reads these records again.
				s.log.Error("bidlog-sink: write on revoke failed", "partition", p, "err", err)
			}
			delete(s.parts, p)
		}
	}
}

// lost drops the batches of partitions lost without a clean revoke: their offsets cannot
// be committed any more, so the next owner reads the records again (and removes any file
// written for them).
func (s *Sink) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range lost[s.o.Topic] {
		delete(s.assign, p)
		delete(s.parts, p)
	}
}

// Stats returns the counts so far.
func (s *Sink) Stats() SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Partitions = make(map[int32]int64, len(s.stats.Partitions))
	for k, v := range s.stats.Partitions {
		st.Partitions[k] = v
	}
	st.Assigned = nil
	for p := range s.assign {
		st.Assigned = append(st.Assigned, p)
	}
	slices.Sort(st.Assigned)
	return st
}

// HourDir is the Hive folder of a row time (Unix ms): dt=YYYY-MM-DD/hour=HH, UTC.
func HourDir(ts int64) string {
	t := time.UnixMilli(ts).UTC()
	return "dt=" + t.Format("2006-01-02") + "/hour=" + t.Format("15")
}

// FileName names the file of a batch from its topic, partition and first offset (20
// digits, so that names sort in offset order): a batch written again after a crash gets
// the same name in the same folder.
func FileName(topic string, partition int32, first int64) string {
	return fmt.Sprintf("%s-%d-%020d.parquet", topic, partition, first)
}

// ParseFileName reads back FileName's parts; ok is false for other names.
func ParseFileName(name string) (topic string, partition int32, first int64, ok bool) {
	base, found := strings.CutSuffix(name, ".parquet")
	if !found {
		return "", 0, 0, false
	}
	i := strings.LastIndexByte(base, '-')
	if i < 0 {
		return "", 0, 0, false
	}
	first, err := strconv.ParseInt(base[i+1:], 10, 64)
	if err != nil || len(base[i+1:]) != 20 {
		return "", 0, 0, false
	}
	base = base[:i]
	j := strings.LastIndexByte(base, '-')
	if j <= 0 {
		return "", 0, 0, false
	}
	p, err := strconv.ParseInt(base[j+1:], 10, 32)
	if err != nil || p < 0 {
		return "", 0, 0, false
	}
	return base[:j], int32(p), first, true
}
