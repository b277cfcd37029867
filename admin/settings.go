package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/store"
)

// Store is what the admin package needs of the settings-and-audit store; *store.Store
// satisfies it.
type Store interface {
	Snapshot(ctx context.Context) (store.Snapshot, error)
	Apply(ctx context.Context, ch store.Change) (int64, []store.AuditEntry, error)
	Watch(ctx context.Context, since int64, changed func(version int64) error) error
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, int64, error)
	Record(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
	String() string
}

// Errors of a settings change, classified by the API.
var (
	ErrUnknownDSP = errors.New("unknown DSP")
	ErrReadOnly   = errors.New("the settings store is not available: running on the file configuration, changes are refused")
)

// Settings is the configuration in force: the base configuration (the file, replaced on
// reload) with the per-DSP overrides of the store written over it. Every change (a file
// reload, a manager's change, a change seen from another replica) builds the whole new
// configuration, validates it and hands it to the apply callback, which swaps it into the
// gateway atomically; a configuration that does not validate never replaces a good one.
//
// Settings is safe for concurrent use. Merges and applies are serialised, so the gateway
// sees them in order.
type Settings struct {
	store Store // nil: running on the file configuration
	log   *slog.Logger

	mu    sync.Mutex // guards base and apply, and serialises changes of cur; held across an apply
	base  *config.Config
	apply func(*config.Config) error

	// cur is what is in force: readers load it without the lock, so that a slow store
	// never holds up the page.
	cur atomic.Pointer[inForce]
}

// inForce is a configuration in force and the store snapshot merged into it.
type inForce struct {
	cfg  *config.Config
	snap store.Snapshot
}

// NewSettings reads the overrides of st, merges them over base and validates the result.
// An unreadable store, or an override that is not a valid value (a damaged store), is an
// error that names it: the caller should refuse to start. st nil runs on base alone
// (changes are then refused with ErrReadOnly). Nothing is applied until Start.
func NewSettings(ctx context.Context, base *config.Config, st Store, log *slog.Logger) (*Settings, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Settings{store: st, log: log, base: base}
	if st == nil {
		s.cur.Store(&inForce{cfg: base})
		return s, nil
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	eff, err := s.merge(base, snap, true)
	if err != nil {
		return nil, fmt.Errorf("settings store %s: %w", st, err)
	}
	s.cur.Store(&inForce{cfg: eff, snap: snap})
	return s, nil
}

// Effective returns the configuration in force. Do not modify it.
func (s *Settings) Effective() *config.Config { return s.cur.Load().cfg }

// Version returns the settings version in force (0 without a store).
func (s *Settings) Version() int64 { return s.cur.Load().snap.Version }

// ReadOnly reports whether changes are refused (no store).
func (s *Settings) ReadOnly() bool { return s.store == nil }

// StoreName names the store ("sqlite data/bidsieve.db"), or "" without one.
func (s *Settings) StoreName() string {
	if s.store == nil {
		return ""
	}
	return s.store.String()
}

// Start sets the callback that puts a configuration in force and calls it with the
// configuration in force now. Later merges call it too.
func (s *Settings) Start(apply func(*config.Config) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apply = apply
	if apply == nil {
		return nil
	}
	return apply(s.cur.Load().cfg)
}

// Run follows the store's changes (another replica's, or another process's on the same
// SQLite file) until ctx ends, putting each in force. Without a store it waits for ctx.
func (s *Settings) Run(ctx context.Context) error {
	if s.store == nil {
		<-ctx.Done()
		return nil
	}
	lastErr := ""
	return s.store.Watch(ctx, s.Version(), func(int64) error {
		err := s.Refresh(ctx)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != lastErr: // once, not every poll
			s.log.Error("settings: a change in the store was not put in force; retrying", "err", err)
			lastErr = err.Error()
		case err == nil && lastErr != "":
			s.log.Info("settings: the store's change is in force after all")
			lastErr = ""
		}
		return err
	})
}

// Refresh reads the store and puts its overrides in force if they changed.
func (s *Settings) Refresh(ctx context.Context) error {
	if s.store == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshLocked(ctx)
}

func (s *Settings) refreshLocked(ctx context.Context) error {
	snap, err := s.store.Snapshot(ctx)
	if err != nil {
		return err
	}
	if snap.Version == s.cur.Load().snap.Version {
		return nil
	}
	eff, err := s.merge(s.base, snap, false)
	if err != nil {
		return fmt.Errorf("settings store %s, version %d: %w", s.store, snap.Version, err)
	}
	if err := s.putInForce(eff, snap); err != nil {
		return err
	}
	s.log.Info("settings: store change in force", "version", snap.Version)
	return nil
}

// SetBase replaces the base configuration (the file was reloaded) and puts it in force
// with the overrides. A base that does not validate with them is refused and the
// configuration in force stays.
func (s *Settings) SetBase(base *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.cur.Load().snap
	eff, err := s.merge(base, snap, false)
	if err != nil {
		return err
	}
	if err := s.putInForce(eff, snap); err != nil {
		return err
	}
	s.base = base
	return nil
}

// putInForce hands eff to the gateway and, if it takes it, publishes it; the caller
// holds mu.
func (s *Settings) putInForce(eff *config.Config, snap store.Snapshot) error {
	if s.apply != nil {
		if err := s.apply(eff); err != nil {
			return fmt.Errorf("put settings in force: %w", err)
		}
	}
	s.cur.Store(&inForce{cfg: eff, snap: snap})
	return nil
}

// Change sets fields of one DSP for who, in the store (with their audit entries, in one
// transaction) and in force. values maps field names to JSON values; each is checked (a
// *FieldError names the bad one). Setting recall_target without threshold also clears a
// threshold in force, so that the new target governs. Fields whose value does not change
// write nothing. It returns the audit entries written.
func (s *Settings) Change(ctx context.Context, who, dsp string, values map[string]json.RawMessage) ([]store.AuditEntry, error) {
	if s.store == nil {
		return nil, ErrReadOnly
	}
	if len(values) == 0 {
		return nil, &FieldError{Field: "", Msg: "no field to change; send one or more of " + fmt.Sprint(fieldNames())}
	}
	names := make([]string, 0, len(values))
	for name := range values {
		if _, ok := fieldByName(name); !ok {
			return nil, fieldErr(name, "unknown field; the fields are %v", fieldNames())
		}
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return fieldIndex(a) - fieldIndex(b) })
	canon := map[string]json.RawMessage{}
	for _, name := range names {
		f, _ := fieldByName(name)
		v, err := f.parse(values[name])
		if err != nil {
			return nil, err
		}
		canon[name] = v
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cur.Load()
	d := now.cfg.DSP(dsp)
	if d == nil {
		return nil, ErrUnknownDSP
	}
	if _, ok := canon[FieldRecallTarget]; ok {
		if _, set := canon[FieldThreshold]; !set && d.Threshold != nil {
			canon[FieldThreshold] = json.RawMessage("null")
			names = append(names, FieldThreshold)
		}
	}

	// Check the whole configuration the change leads to before writing it.
	next := store.Snapshot{Version: now.snap.Version, DSPs: cloneOverrides(now.snap.DSPs)}
	if next.DSPs[dsp] == nil {
		next.DSPs[dsp] = map[string]json.RawMessage{}
	}
	ch := store.Change{Who: who, DSP: dsp}
	baseDSP := s.base.DSP(dsp)
	for _, name := range names {
		f, _ := fieldByName(name)
		next.DSPs[dsp][name] = canon[name]
		ch.Fields = append(ch.Fields, store.FieldChange{Field: name, New: canon[name], Inherited: canonical(f.get(baseDSP, s.base.Shaping))})
	}
	if _, err := s.merge(s.base, next, false); err != nil {
		return nil, err
	}

	_, entries, err := s.store.Apply(ctx, ch)
	if err != nil {
		return nil, err
	}
	if err := s.refreshLocked(ctx); err != nil {
		// Written and audited, but not in force here: Run retries on the next version;
		// report it rather than pretend.
		return entries, fmt.Errorf("saved, but not yet in force: %w", err)
	}
	return entries, nil
}

func fieldIndex(name string) int {
	for i, f := range fields {
		if f.name == name {
			return i
		}
	}
	return len(fields)
}

// merge writes the overrides of snap over a copy of base and validates the result. An
// override of a DSP that base does not list is ignored (the file no longer has it; logged
// when logIgnored); an unknown field or a bad value is an error naming it, so that a
// gateway never runs with settings this build does not understand.
func (s *Settings) merge(base *config.Config, snap store.Snapshot, logIgnored bool) (*config.Config, error) {
	eff := base.Clone()
	var errs []error
	for _, dsp := range slices.Sorted(maps.Keys(snap.DSPs)) {
		d := eff.DSP(dsp)
		if d == nil {
			if logIgnored {
				s.log.Warn("settings store: overrides of a DSP the configuration does not list are ignored", "dsp", dsp)
			}
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(snap.DSPs[dsp])) {
			raw := snap.DSPs[dsp][name]
			f, ok := fieldByName(name)
			if !ok {
				errs = append(errs, fmt.Errorf("dsp %s: unknown field %q", dsp, name))
				continue
			}
			v, err := f.parse(raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("dsp %s: %w", dsp, err))
				continue
			}
			f.set(d, v)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := eff.Validate(); err != nil {
		return nil, fmt.Errorf("configuration with the overrides: %w", err)
	}
	return eff, nil
}

func cloneOverrides(m map[string]map[string]json.RawMessage) map[string]map[string]json.RawMessage {
	out := make(map[string]map[string]json.RawMessage, len(m))
	for k, v := range m {
		inner := make(map[string]json.RawMessage, len(v))
		for f, raw := range v {
			inner[f] = raw
		}
		out[k] = inner
	}
	return out
}

// overridden returns the fields the store overrides for dsp, in documented order.
func (s *Settings) overridden(dsp string) []string {
	snap := s.cur.Load().snap
	var out []string
	for _, f := range fields {
		if _, ok := snap.DSPs[dsp][f.name]; ok {
			out = append(out, f.name)
		}
	}
	return out
}
