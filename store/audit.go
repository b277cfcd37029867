package store

import (
	"context"
	"encoding/json"
	"time"
)

// AuditQuery selects a page of the audit trail, newest first.
type AuditQuery struct {
	DSP    string // "" for every DSP
	Before int64  // only entries with a smaller ID (the previous page's last ID); 0 for the newest
	Limit  int    // page size, 1 to MaxAuditPage; 0 is DefaultAuditPage
}

// Audit page sizes.
const (
	DefaultAuditPage = 50
	MaxAuditPage     = 500
)

// Audit returns a page of the audit trail, newest first, and the ID to pass as Before
// for the next page (0 when there is none).
func (s *Store) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, int64, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultAuditPage
	}
	limit = min(limit, MaxAuditPage)
	query := `SELECT id, at_us, who, dsp, field, old_value, new_value FROM audit WHERE 1 = 1`
	var args []any
	if q.DSP != "" {
		query += ` AND dsp = ?`
		args = append(args, q.DSP)
	}
	if q.Before > 0 {
		query += ` AND id < ?`
		args = append(args, q.Before)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1) // one more tells whether there is a next page
	rows, err := s.db.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return nil, 0, s.errorf("read audit: %w", err)
	}
	defer func() { _ = rows.Close() }() // rows.Err is checked below
	entries := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var atUS int64
		var oldV, newV string
		if err := rows.Scan(&e.ID, &atUS, &e.Who, &e.DSP, &e.Field, &oldV, &newV); err != nil {
			return nil, 0, s.errorf("read audit: %w", err)
		}
		e.At = time.UnixMicro(atUS).UTC()
		e.Old, e.New = rawOrString(oldV), rawOrString(newV)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.errorf("read audit: %w", err)
	}
	var next int64
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].ID
	}
	return entries, next, nil
}

// rawOrString returns v as JSON; a damaged value is shown as a JSON string rather than
// breaking the whole trail.
func rawOrString(v string) json.RawMessage {
	if json.Valid([]byte(v)) {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}
