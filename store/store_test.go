package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/store"
	"github.com/bidsieve/bidsieve/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// backend opens one store of a kind and says how to open another on the same database.
type backend struct {
	name string
	open func(t *testing.T) (first *store.Store, another func() *store.Store)
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) (*store.Store, func() *store.Store) {
			path := filepath.Join(t.TempDir(), "data", "bidsieve.db")
			return openSQLite(t, path), func() *store.Store { return openSQLite(t, path) }
		}},
		{"postgres", func(t *testing.T) (*store.Store, func() *store.Store) {
			u := storetest.Postgres(t)
			return openPostgres(t, u), func() *store.Store { return openPostgres(t, u) }
		}},
	}
}

var testOpts = store.Options{PollInterval: 100 * time.Millisecond}

func openSQLite(t *testing.T, path string) *store.Store {
	t.Helper()
	return openStore(t, store.OpenSQLite, path)
}

func openPostgres(t *testing.T, u string) *store.Store {
	t.Helper()
	return openStore(t, store.OpenPostgres, u)
}

// openStore opens the store at where with open (store.OpenSQLite or store.OpenPostgres),
// failing t if it does not open, and closes it when the test ends.
func openStore(t *testing.T, open func(context.Context, string, store.Options) (*store.Store, error), where string) *store.Store {
	t.Helper()
	s, err := open(t.Context(), where, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestApplyWritesOverridesAndAuditTogether(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s, _ := b.open(t)
			ctx := t.Context()
			v, entries, err := s.Apply(ctx, store.Change{Who: "ann", DSP: "alpha", Fields: []store.FieldChange{
				{Field: "recall_target", New: raw("0.97"), Inherited: raw("0.95")},
				{Field: "mode", New: raw(`"shadow"`), Inherited: raw(`"filter"`)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if v != 1 || len(entries) != 2 {
				t.Fatalf("version %d, %d entries; want 1 and 2", v, len(entries))
			}
			e := entries[0]
			if e.Who != "ann" || e.DSP != "alpha" || e.Field != "recall_target" || string(e.Old) != "0.95" || string(e.New) != "0.97" || e.ID == 0 || e.At.IsZero() {
				t.Fatalf("audit entry %+v", e)
			}

			// The second change's old value is the override, not the inherited one; an
			// unchanged field writes nothing.
			v, entries, err = s.Apply(ctx, store.Change{Who: "bob", DSP: "alpha", Fields: []store.FieldChange{
				{Field: "recall_target", New: raw("0.99"), Inherited: raw("0.95")},
				{Field: "mode", New: raw(`"shadow"`), Inherited: raw(`"filter"`)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if v != 2 || len(entries) != 1 || string(entries[0].Old) != "0.97" || string(entries[0].New) != "0.99" {
				t.Fatalf("version %d, entries %+v", v, entries)
			}

			// A change that changes nothing keeps the version.
			v, entries, err = s.Apply(ctx, store.Change{Who: "bob", DSP: "alpha", Fields: []store.FieldChange{
				{Field: "recall_target", New: raw("0.990"), Inherited: raw("0.95")},
			}})
			if err != nil || v != 2 || len(entries) != 0 {
				t.Fatalf("no-op change: version %d, entries %v, err %v", v, entries, err)
			}

			snap, err := s.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Version != 2 || string(snap.DSPs["alpha"]["recall_target"]) != "0.99" || string(snap.DSPs["alpha"]["mode"]) != `"shadow"` {
				t.Fatalf("snapshot %+v", snap)
			}
			if _, _, err := s.Apply(ctx, store.Change{Who: "x", DSP: "alpha"}); !errors.Is(err, store.ErrNoChange) {
				t.Fatalf("empty change: %v", err)
			}
		})
	}
}

func TestAuditPages(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s, _ := b.open(t)
			ctx := t.Context()
			for i := range 7 {
				dsp := "alpha"
				if i%2 == 1 {
					dsp = "bravo"
				}
				if _, _, err := s.Apply(ctx, store.Change{Who: "ann", DSP: dsp, Fields: []store.FieldChange{
					{Field: "qps_limit", New: raw(jsonInt(100 + i)), Inherited: raw("0")},
				}}); err != nil {
					t.Fatal(err)
				}
			}
			page, next, err := s.Audit(ctx, store.AuditQuery{Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != 3 || string(page[0].New) != "106" || next != page[2].ID {
				t.Fatalf("first page %+v next %d", page, next)
			}
			var all []store.AuditEntry
			for before := int64(0); ; {
				p, n, err := s.Audit(ctx, store.AuditQuery{Limit: 3, Before: before})
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, p...)
				if n == 0 {
					break
				}
				before = n
			}
			if len(all) != 7 {
				t.Fatalf("paged through %d entries, want 7", len(all))
			}
			for i := 1; i < len(all); i++ {
				if all[i].ID >= all[i-1].ID {
					t.Fatalf("not newest first: %d then %d", all[i-1].ID, all[i].ID)
				}
			}
			bravo, _, err := s.Audit(ctx, store.AuditQuery{DSP: "bravo"})
			if err != nil {
				t.Fatal(err)
			}
			if len(bravo) != 3 {
				t.Fatalf("bravo has %d entries, want 3", len(bravo))
			}
			for _, e := range bravo {
				if e.DSP != "bravo" {
					t.Fatalf("filter leaked %+v", e)
				}
			}
		})
	}
}

func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestReopenKeepsSettingsAndAudit(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s, another := b.open(t)
			ctx := t.Context()
			if _, _, err := s.Apply(ctx, store.Change{Who: "ann", DSP: "alpha", Fields: []store.FieldChange{
				{Field: "threshold", New: raw("null"), Inherited: raw("0.2")},
			}}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s2 := another() // migrations run again: they must be idempotent
			snap, err := s2.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Version != 1 || string(snap.DSPs["alpha"]["threshold"]) != "null" {
				t.Fatalf("after reopening: %+v", snap)
			}
			entries, _, err := s2.Audit(ctx, store.AuditQuery{})
			if err != nil || len(entries) != 1 || string(entries[0].Old) != "0.2" {
				t.Fatalf("audit after reopening: %+v %v", entries, err)
			}
		})
	}
}

func TestWatchSeesAnotherInstancesChange(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			a, another := b.open(t)
			other := another()
			ctx, cancel := context.WithCancel(t.Context())
			seen := make(chan int64, 10)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				other.Watch(ctx, 0, func(v int64) error { seen <- v; return nil })
			}()
			defer func() { cancel(); wg.Wait() }()
			time.Sleep(200 * time.Millisecond) // let the LISTEN connection settle
			start := time.Now()
			if _, _, err := a.Apply(ctx, store.Change{Who: "ann", DSP: "alpha", Fields: []store.FieldChange{
				{Field: "enabled", New: raw("false"), Inherited: raw("true")},
			}}); err != nil {
				t.Fatal(err)
			}
			select {
			case v := <-seen:
				if v != 1 {
					t.Fatalf("saw version %d, want 1", v)
				}
				t.Logf("%s: change seen by the other instance after %v", b.name, time.Since(start))
			case <-time.After(time.Second):
				t.Fatal("the other instance did not see the change within 1s")
			}
		})
	}
}

// execSQLite runs stmt on the SQLite database at path behind the store's back.
func execSQLite(t *testing.T, path, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatal(err)
	}
}

func TestFailedChangeLeavesNoTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bidsieve.db")
	s := openSQLite(t, path)
	// A trigger makes the audit insert fail for one field: the override written just
	// before it in the same transaction must not survive.
	execSQLite(t, path, `CREATE TRIGGER boom BEFORE INSERT ON audit WHEN NEW.field = 'mode' BEGIN SELECT RAISE(ABORT, 'boom'); END`)
	ctx := t.Context()
	_, _, err := s.Apply(ctx, store.Change{Who: "ann", DSP: "alpha", Fields: []store.FieldChange{
		{Field: "qps_limit", New: raw("10"), Inherited: raw("0")},
		{Field: "mode", New: raw(`"off"`), Inherited: raw(`"filter"`)},
	}})
	if err == nil {
		t.Fatal("the change succeeded despite the failing audit insert")
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version != 0 || len(snap.DSPs) != 0 {
		t.Fatalf("a failed change left %+v", snap)
	}
	entries, _, _ := s.Audit(ctx, store.AuditQuery{})
	if len(entries) != 0 {
		t.Fatalf("a failed change left audit entries %+v", entries)
	}
}

func TestCorruptSQLiteIsRefusedClearly(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := store.OpenSQLite(t.Context(), notDB, testOpts)
	if err == nil || !strings.Contains(err.Error(), "settings store sqlite "+notDB) || !strings.Contains(err.Error(), "not a database") {
		t.Fatalf("garbage file: %v", err)
	}

	// A database whose page is damaged after it was written.
	damaged := filepath.Join(dir, "damaged.db")
	s, err := store.OpenSQLite(t.Context(), damaged, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, _, err := s.Apply(t.Context(), store.Change{Who: "ann", DSP: "alpha", Fields: []store.FieldChange{
			{Field: "qps_limit", New: raw(jsonInt(i + 1)), Inherited: raw("0")},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // checkpoints the WAL into the file
	data, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4096 + 100; i < len(data) && i < 4096*3; i++ {
		data[i] ^= 0x5a
	}
	if err := os.WriteFile(damaged, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenSQLite(t.Context(), damaged, testOpts)
	if err == nil || !strings.Contains(err.Error(), "settings store sqlite "+damaged) {
		t.Fatalf("damaged file: %v", err)
	}
	t.Logf("damaged file refused: %v", err)
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bidsieve.db")
	s := openSQLite(t, path)
	s.Close()
	execSQLite(t, path, `INSERT INTO schema_migrations (version, name, applied_us) VALUES (99, 'from the future', 0)`)
	_, err := store.OpenSQLite(t.Context(), path, testOpts)
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestDamagedValueIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bidsieve.db")
	s := openSQLite(t, path)
	execSQLite(t, path, `INSERT INTO dsp_overrides (dsp, field, value, updated_us, updated_by) VALUES ('alpha', 'recall_target', '0.9x', 0, 'ann')`)
	_, err := s.Snapshot(t.Context())
	if err == nil || !strings.Contains(err.Error(), "alpha.recall_target") || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged value: %v", err)
	}
}

func TestUnreachablePostgresIsReportedClearly(t *testing.T) {
	opts := testOpts
	opts.ConnectTimeout = 2 * time.Second
	_, err := store.OpenPostgres(t.Context(), "postgres://bidsieve:secret@127.0.0.1:1/bidsieve?sslmode=disable&connect_timeout=1", opts)
	if err == nil {
		t.Fatal("opened an unreachable server")
	}
	msg := err.Error()
	if !strings.Contains(msg, "settings store postgres") || !strings.Contains(msg, "unreachable") {
		t.Fatalf("unclear error: %v", err)
	}
	if strings.Contains(msg, "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

func TestOpenNeedsExactlyOneBackend(t *testing.T) {
	if _, err := store.Open(t.Context(), "", "", testOpts); err == nil {
		t.Fatal("opened with nothing configured")
	}
	if _, err := store.Open(t.Context(), "a.db", "postgres://x", testOpts); err == nil {
		t.Fatal("opened with both configured")
	}
}

func TestConcurrentChangesAuditTheRightOldValues(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			a, another := b.open(t)
			c := another()
			ctx := t.Context()
			const n = 10
			var wg sync.WaitGroup
			for i := range n {
				s := a
				if i%2 == 1 {
					s = c
				}
				wg.Go(func() {
					if _, _, err := s.Apply(ctx, store.Change{Who: "ann", DSP: "alpha", Fields: []store.FieldChange{
						{Field: "qps_limit", New: raw(jsonInt(1000 + i)), Inherited: raw("0")},
					}}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			entries, _, err := a.Audit(ctx, store.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != n {
				t.Fatalf("%d entries, want %d", len(entries), n)
			}
			// Oldest first, each entry's old value is the previous entry's new value.
			prev := "0"
			for i := len(entries) - 1; i >= 0; i-- {
				if string(entries[i].Old) != prev {
					t.Fatalf("entry %d: old %s, want %s (a lost update)", entries[i].ID, entries[i].Old, prev)
				}
				prev = string(entries[i].New)
			}
		})
	}
}

// TestWatchPollsWhenListenIsLost kills the LISTEN connection: polling must still deliver
// the change within a second, and notifications come back after the reconnection.
func TestWatchPollsWhenListenIsLost(t *testing.T) {
	u := storetest.Postgres(t)
	opts := store.Options{} // the default 500ms poll
	open := func() *store.Store {
		s, err := store.OpenPostgres(t.Context(), u, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, other := open(), open()
	ctx, cancel := context.WithCancel(t.Context())
	seen := make(chan int64, 10)
	var wg sync.WaitGroup
	wg.Go(func() { other.Watch(ctx, 0, func(v int64) error { seen <- v; return nil }) })
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(300 * time.Millisecond)

	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var killed int
	if err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d LISTEN connections, want 1", killed)
	}
	for v := int64(1); v <= 2; v++ {
		start := time.Now()
		if _, _, err := a.Apply(ctx, store.Change{Who: "ann", DSP: "alpha", Fields: []store.FieldChange{
			{Field: "qps_limit", New: raw(jsonInt(int(v))), Inherited: raw("0")},
		}}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-seen:
			if got != v {
				t.Fatalf("saw version %d, want %d", got, v)
			}
			t.Logf("version %d seen after %v", v, time.Since(start))
		case <-time.After(time.Second):
			t.Fatalf("version %d not seen within 1s", v)
		}
		if v == 1 {
			time.Sleep(2500 * time.Millisecond) // the listener reconnects after 2s
		}
	}
}
