package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the PostgreSQL channel a change notifies, with the new version.
const notifyChannel = "bidsieve_settings"

// notify tells the other replicas, at commit, that the settings version is now version.
func (s *Store) notify(ctx context.Context, tx *sql.Tx, version int64) error {
	if s.kind != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, strconv.FormatInt(version, 10)); err != nil {
		return s.errorf("notify replicas: %w", err)
	}
	return nil
}

// Watch calls changed with the settings version whenever it differs from the last one
// handled (starting from since), until ctx ends; then it returns nil. With PostgreSQL a
// notification wakes it at once; in every case it reads the version every PollInterval,
// so a lost notification or a broken LISTEN connection delays a change by at most that.
// Errors reading the version are logged and retried; when changed returns an error, the
// version is not handled and changed is called again at the next poll. changed runs on
// Watch's goroutine.
func (s *Store) Watch(ctx context.Context, since int64, changed func(version int64) error) error {
	var l *listener
	if s.kind == Postgres {
		l = &listener{s: s}
		defer l.close()
	}
	last := since
	failing := false
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		if l != nil {
			l.wait(ctx, s.poll) // returns on a notification, after s.poll, or when ctx ends
		} else {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		v, err := s.Version(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			if !failing {
				s.log.Error("settings store: cannot read the settings version; retrying", "store", s.String(), "err", err)
			}
			failing = true
			continue
		case failing:
			s.log.Info("settings store: reachable again", "store", s.String())
			failing = false
		}
		if v != last && changed(v) == nil {
			last = v
		}
	}
}

// listener holds the LISTEN connection, reconnecting after a failure.
type listener struct {
	s       *Store
	conn    *pgx.Conn
	retryAt time.Time
}

// wait returns after a notification, after d, or when ctx ends.
func (l *listener) wait(ctx context.Context, d time.Duration) {
	if l.conn == nil && time.Now().After(l.retryAt) {
		l.connect(ctx)
	}
	if l.conn == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := l.conn.WaitForNotification(wctx)
	if err == nil || ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	l.s.log.Warn("settings store: LISTEN connection lost; polling until it is back", "store", l.s.String(), "err", err)
	l.close()
	l.retryAt = time.Now().Add(2 * time.Second)
}

func (l *listener) connect(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, l.s.pgURL)
	if err == nil {
		_, err = conn.Exec(cctx, "LISTEN "+notifyChannel)
		if err != nil {
			conn.Close(context.Background()) //nolint:errcheck // already failing
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			l.s.log.Warn("settings store: cannot LISTEN for changes; polling", "store", l.s.String(), "err", err)
		}
		l.retryAt = time.Now().Add(2 * time.Second)
		return
	}
	l.conn = conn
}

func (l *listener) close() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		l.conn.Close(ctx) //nolint:errcheck // closing on the way out
		l.conn = nil
	}
}
