package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Snapshot is every override in the store at one settings version.
type Snapshot struct {
	Version int64
	// DSPs maps a DSP's name to its overrides: field name to JSON value. A field absent
	// from the map is not overridden.
	DSPs map[string]map[string]json.RawMessage
}

// Change is one settings change: fields of one DSP, made by one person.
type Change struct {
	Who    string // the admin token's name
	DSP    string
	Fields []FieldChange
}

// FieldChange sets one field's override.
type FieldChange struct {
	Field string
	New   json.RawMessage // the value to store; valid JSON
	// Inherited is the field's value when the store holds no override for it (the file
	// configuration's value): the audit entry's old value in that case.
	Inherited json.RawMessage
}

// AuditEntry is one field changed: who, when, which DSP and field, old and new values.
type AuditEntry struct {
	ID    int64           `json:"id"`
	At    time.Time       `json:"at"`
	Who   string          `json:"who"`
	DSP   string          `json:"dsp"`
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old"`
	New   json.RawMessage `json:"new"`
}

// ErrNoChange is returned by Apply for a change without fields.
var ErrNoChange = errors.New("no field to change")

// Snapshot reads every override and the settings version, consistently.
func (s *Store) Snapshot(ctx context.Context) (Snapshot, error) {
	tx, err := s.db.BeginTx(ctx, readTx(s.kind))
	if err != nil {
		return Snapshot{}, s.errorf("read settings: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	snap := Snapshot{DSPs: map[string]map[string]json.RawMessage{}}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM settings_version WHERE id = 1`).Scan(&snap.Version); err != nil {
		return Snapshot{}, s.errorf("read settings version: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT dsp, field, value FROM dsp_overrides ORDER BY dsp, field`)
	if err != nil {
		return Snapshot{}, s.errorf("read overrides: %w", err)
	}
	defer func() { _ = rows.Close() }() // rows.Err is checked below
	for rows.Next() {
		var dsp, field, value string
		if err := rows.Scan(&dsp, &field, &value); err != nil {
			return Snapshot{}, s.errorf("read overrides: %w", err)
		}
		if !json.Valid([]byte(value)) {
			return Snapshot{}, s.errorf("override %s.%s holds %q, which is not JSON: the store is damaged", dsp, field, value)
		}
		if snap.DSPs[dsp] == nil {
			snap.DSPs[dsp] = map[string]json.RawMessage{}
		}
		snap.DSPs[dsp][field] = json.RawMessage(value)
	}
	if err := rows.Err(); err != nil {
		return Snapshot{}, s.errorf("read overrides: %w", err)
	}
	return snap, nil
}

// Version returns the settings version: it grows by one with every change.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM settings_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, s.errorf("read settings version: %w", err)
	}
	return v, nil
}

// Apply writes a change in one transaction: the new settings version, each field's
// override and its audit entry (old value: the override it replaces, or Inherited). A
// field whose new value equals its old one is skipped. It returns the new version and the
// audit entries written (none when nothing changed; the version then stays).
func (s *Store) Apply(ctx context.Context, ch Change) (int64, []AuditEntry, error) {
	if len(ch.Fields) == 0 {
		return 0, nil, ErrNoChange
	}
	for _, f := range ch.Fields {
		if !json.Valid(f.New) || !json.Valid(f.Inherited) {
			return 0, nil, fmt.Errorf("change %s.%s: value is not JSON", ch.DSP, f.Field)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, nil, s.errorf("begin change: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// Taking the version first serialises changes (PostgreSQL's row lock; SQLite's
	// immediate transaction holds the write lock already), so the old values read below
	// are the ones this change replaces.
	var version int64
	if err := tx.QueryRowContext(ctx, `UPDATE settings_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&version); err != nil {
		return 0, nil, s.errorf("bump settings version: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var entries []AuditEntry
	for _, f := range ch.Fields {
		old := []byte(f.Inherited)
		var stored string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT value FROM dsp_overrides WHERE dsp = ? AND field = ?`), ch.DSP, f.Field).Scan(&stored)
		switch {
		case err == nil:
			old = []byte(stored)
		case !isNoRows(err):
			return 0, nil, s.errorf("read override %s.%s: %w", ch.DSP, f.Field, err)
		}
		if jsonEqual(old, f.New) {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO dsp_overrides (dsp, field, value, updated_us, updated_by) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (dsp, field) DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us, updated_by = excluded.updated_by`),
			ch.DSP, f.Field, string(f.New), now.UnixMicro(), ch.Who); err != nil {
			return 0, nil, s.errorf("write override %s.%s: %w", ch.DSP, f.Field, err)
		}
		e := AuditEntry{At: now, Who: ch.Who, DSP: ch.DSP, Field: f.Field, Old: compact(old), New: compact(f.New)}
		if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO audit (at_us, who, dsp, field, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			now.UnixMicro(), e.Who, e.DSP, e.Field, string(e.Old), string(e.New)).Scan(&e.ID); err != nil {
			return 0, nil, s.errorf("write audit entry: %w", err)
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return version - 1, nil, nil // rolled back: nothing to tell the replicas
	}
	if err := s.notify(ctx, tx, version); err != nil {
		return 0, nil, err
	}
	if err := tx.Commit(); err != nil {
		return 0, nil, s.errorf("commit change: %w", err)
	}
	return version, entries, nil
}

// Record writes an audit entry for an action that is not a settings change (a model
// reload), and bumps no version.
func (s *Store) Record(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	if !json.Valid(e.Old) || !json.Valid(e.New) {
		return AuditEntry{}, fmt.Errorf("record %s.%s: value is not JSON", e.DSP, e.Field)
	}
	e.At = s.now().UTC().Truncate(time.Microsecond)
	e.Old, e.New = compact(e.Old), compact(e.New)
	if err := s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO audit (at_us, who, dsp, field, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		e.At.UnixMicro(), e.Who, e.DSP, e.Field, string(e.Old), string(e.New)).Scan(&e.ID); err != nil {
		return AuditEntry{}, s.errorf("write audit entry: %w", err)
	}
	return e, nil
}

// jsonEqual compares two JSON values by meaning (0.95 equals 0.950).
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func compact(v []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return json.RawMessage(v)
	}
	return json.RawMessage(b.Bytes())
}
