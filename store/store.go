package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Kind names a back end.
type Kind string

// The back ends.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Logger receives the store's own events (migrations, lost notification connections);
	// nil discards them.
	Logger *slog.Logger
	// Now is the clock of audit entries; nil is time.Now.
	Now func() time.Time
	// PollInterval is how often Watch reads the settings version besides notifications;
	// 0 is 500ms.
	PollInterval time.Duration
	// ConnectTimeout bounds opening the database and running the migrations; 0 is 10s.
	ConnectTimeout time.Duration
}

// Store is the settings-and-audit store. Create it with [Open], [OpenSQLite] or
// [OpenPostgres]; Close it when done.
type Store struct {
	db      *sql.DB
	kind    Kind
	where   string // the file, or the URL without its password, for messages
	pgURL   string // PostgreSQL only: for the LISTEN connection
	log     *slog.Logger
	now     func() time.Time
	poll    time.Duration
	timeout time.Duration
}

// Open opens the back end named by sqlitePath or postgresURL (exactly one must be set; the
// configuration's store section), runs the migrations and checks the data.
func Open(ctx context.Context, sqlitePath, postgresURL string, opts Options) (*Store, error) {
	switch {
	case sqlitePath != "" && postgresURL != "":
		return nil, errors.New("settings store: set sqlite or postgres, not both")
	case postgresURL != "":
		return OpenPostgres(ctx, postgresURL, opts)
	case sqlitePath != "":
		return OpenSQLite(ctx, sqlitePath, opts)
	default:
		return nil, errors.New("settings store: neither sqlite nor postgres is configured")
	}
}

// OpenSQLite opens (creating it and its folder if needed) the SQLite file at path, checks
// its integrity and runs the migrations. A file that is not a SQLite database, fails the
// integrity check or holds a newer schema is an error that says so.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	s := newStore(SQLite, path, opts)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, s.errorf("create its folder: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, s.errorf("open: %w", err)
	}
	return s.start(ctx, db, s.checkSQLite)
}

// checkSQLite refuses a file that is not a database or is damaged, then turns on WAL.
func (s *Store) checkSQLite(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			_ = rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, strings.TrimSpace(strings.Trim(line, "* ")))
		}
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check failed, the file is damaged: %s", strings.Join(problems, "; "))
	}
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&res); err != nil {
		return fmt.Errorf("set WAL journal: %w", err)
	}
	return nil
}

// OpenPostgres connects to the PostgreSQL database at url and runs the migrations (under
// an advisory lock, so replicas starting together migrate once).
func OpenPostgres(ctx context.Context, pgURL string, opts Options) (*Store, error) {
	s := newStore(Postgres, redact(pgURL), opts)
	s.pgURL = pgURL
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		return nil, s.errorf("open: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	return s.start(ctx, db, func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("unreachable: %w", err)
		}
		return nil
	})
}

// start makes db the store's database, then, within the connect timeout, runs check (the
// engine's own test that the database can be used) and the migrations. It closes db when
// either fails.
func (s *Store) start(ctx context.Context, db *sql.DB, check func(context.Context) error) (*Store, error) {
	s.db = db
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := check(ctx); err != nil {
		_ = db.Close() // already failing
		return nil, s.errorf("%w", err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close() // already failing
		return nil, s.errorf("%w", err)
	}
	return s, nil
}

func newStore(kind Kind, where string, opts Options) *Store {
	s := &Store{kind: kind, where: where, log: opts.Logger, now: opts.Now, poll: opts.PollInterval, timeout: opts.ConnectTimeout}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.poll <= 0 {
		s.poll = 500 * time.Millisecond
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	return s
}

// Kind returns the back end.
func (s *Store) Kind() Kind { return s.kind }

// String names the back end and where it is (never a password), e.g.
// "sqlite data/bidsieve.db".
func (s *Store) String() string { return string(s.kind) + " " + s.where }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) errorf(format string, args ...any) error {
	return fmt.Errorf("settings store %s: %w", s, fmt.Errorf(format, args...))
}

// rebind turns the ? placeholders of a query into PostgreSQL's $1, $2, ...
func (s *Store) rebind(q string) string {
	if s.kind != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// redact removes the password from a connection URL.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// readTx returns the options of a consistent read-only transaction: PostgreSQL needs
// REPEATABLE READ for its statements to see one snapshot; a SQLite transaction always does.
func readTx(k Kind) *sql.TxOptions {
	if k == Postgres {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
