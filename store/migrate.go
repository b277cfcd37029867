package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one schema version: the same tables in both back ends, spelt per dialect.
type migration struct {
	version  int
	name     string
	sqlite   []string
	postgres []string
}

// migrations are applied in order; a released migration is never edited, only followed.
var migrations = []migration{
	{
		version: 1,
		name:    "settings, overrides and audit",
		sqlite: []string{
			`CREATE TABLE settings_version (
				id      INTEGER PRIMARY KEY CHECK (id = 1),
				version INTEGER NOT NULL)`,
			`INSERT INTO settings_version (id, version) VALUES (1, 0)`,
			`CREATE TABLE dsp_overrides (
				dsp        TEXT    NOT NULL,
				field      TEXT    NOT NULL,
				value      TEXT    NOT NULL,
				updated_us INTEGER NOT NULL,
				updated_by TEXT    NOT NULL,
				PRIMARY KEY (dsp, field))`,
			`CREATE TABLE audit (
				id        INTEGER PRIMARY KEY AUTOINCREMENT,
				at_us     INTEGER NOT NULL,
				who       TEXT    NOT NULL,
				dsp       TEXT    NOT NULL,
				field     TEXT    NOT NULL,
				old_value TEXT    NOT NULL,
				new_value TEXT    NOT NULL)`,
			`CREATE INDEX audit_dsp_id ON audit (dsp, id)`,
		},
		postgres: []string{
			`CREATE TABLE settings_version (
				id      INTEGER PRIMARY KEY CHECK (id = 1),
				version BIGINT  NOT NULL)`,
			`INSERT INTO settings_version (id, version) VALUES (1, 0)`,
			`CREATE TABLE dsp_overrides (
				dsp        TEXT   NOT NULL,
				field      TEXT   NOT NULL,
				value      TEXT   NOT NULL,
				updated_us BIGINT NOT NULL,
				updated_by TEXT   NOT NULL,
				PRIMARY KEY (dsp, field))`,
			`CREATE TABLE audit (
				id        BIGSERIAL PRIMARY KEY,
				at_us     BIGINT NOT NULL,
				who       TEXT   NOT NULL,
				dsp       TEXT   NOT NULL,
				field     TEXT   NOT NULL,
				old_value TEXT   NOT NULL,
				new_value TEXT   NOT NULL)`,
			`CREATE INDEX audit_dsp_id ON audit (dsp, id)`,
		},
	},
}

// SchemaVersion is the schema version this build migrates to.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrationLock is the PostgreSQL advisory lock key held while migrating ("bidsieve").
const migrationLock = 0x62696473696576

// migrate brings the schema to SchemaVersion in one transaction. A database whose schema
// is newer than this build is refused: this build would not know its data.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if s.kind == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_us BIGINT  NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current > SchemaVersion() {
		return fmt.Errorf("schema version %d is newer than this build's %d: run a newer bidsieve", current, SchemaVersion())
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		stmts := m.sqlite
		if s.kind == Postgres {
			stmts = m.postgres
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`),
			m.version, m.name, s.now().UnixMicro()); err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
		s.log.Info("settings store migrated", "store", s.String(), "version", m.version, "name", m.name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}
