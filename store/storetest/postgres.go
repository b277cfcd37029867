// Package storetest gives tests a PostgreSQL server: the one named by
// BIDSIEVE_TEST_POSTGRES (CI starts one), or else a throw-away cluster started from the
// server binaries in /usr/lib/postgresql/*/bin, stopped by [Stop]. Each test gets its own
// fresh database. It is for tests only.
//
// Concurrency: [Postgres] is safe for concurrent use; the cluster starts once per process.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.uber.org/goleak"
)

// EnvVar names the server tests use when it is set.
const EnvVar = "BIDSIEVE_TEST_POSTGRES"

var (
	once     sync.Once
	baseURL  string
	startErr error
	cluster  *throwaway
	dbSeq    atomic.Int64
)

// Postgres returns the URL of a new, empty database for this test, dropped when the test
// ends. Without a server it skips the test, saying why.
func Postgres(t testing.TB) string {
	t.Helper()
	once.Do(func() { baseURL, startErr = server() })
	if startErr != nil {
		t.Skipf("PostgreSQL test skipped: no server (%v); set %s to a postgres:// URL to run it", startErr, EnvVar)
	}
	name := fmt.Sprintf("bidsieve_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	admin, err := sql.Open("pgx", baseURL)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", redact(baseURL), err)
	}
	defer func() { _ = admin.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", baseURL)
		if err != nil {
			return
		}
		defer func() { _ = db.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("storetest: drop database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(baseURL)
	u.Path = "/" + name
	return u.String()
}

// Stop stops the throw-away cluster if this process started one. Call it from TestMain
// after m.Run.
func Stop() {
	if cluster != nil {
		cluster.stop()
		cluster = nil
	}
}

// Main is the TestMain of a package whose tests use [Postgres]: it runs the tests, stops
// the throw-away cluster, then fails the run if goroutines leaked, and exits.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			_, _ = os.Stderr.WriteString("goroutine leak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// server returns the URL of a reachable server's maintenance database.
func server() (string, error) {
	if u := os.Getenv(EnvVar); u != "" {
		if err := ping(u); err != nil {
			return "", fmt.Errorf("%s=%s is not reachable: %w", EnvVar, redact(u), err)
		}
		return u, nil
	}
	c, err := startThrowaway()
	if err != nil {
		return "", fmt.Errorf("%s is unset and no throw-away cluster could be started: %w", EnvVar, err)
	}
	cluster = c
	return c.url, nil
}

func ping(u string) error {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// throwaway is a PostgreSQL cluster in a temporary folder.
type throwaway struct {
	bin, dir, url string
	asPostgres    bool // root runs the server as the postgres user
}

func startThrowaway() (*throwaway, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return nil, fmt.Errorf("no /usr/lib/postgresql/*/bin/initdb (install Debian's postgresql)")
	}
	slices.SortFunc(bins, func(a, b string) int { return versionOf(a) - versionOf(b) })
	c := &throwaway{bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "bidsieve-pg-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the cluster as the postgres user.
		pg, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		c.asPostgres = true
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off", dir, port)
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w: %s %s", err, out, log)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

func (c *throwaway) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.asPostgres {
		quoted := make([]string, 0, len(args)+1)
		for _, a := range append([]string{path}, args...) {
			quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		cmd = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *throwaway) stop() {
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop") //nolint:errcheck // best effort
	_ = os.RemoveAll(c.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// versionOf reads the major version out of /usr/lib/postgresql/15/bin/initdb.
func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
