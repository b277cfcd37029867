// Package store keeps the account managers' run-time settings (per-DSP overrides of the
// file configuration) and their audit trail, in SQLite (the default: one file, created and
// migrated on start) or PostgreSQL (shared by a fleet of gateways). Both back ends have the
// same schema and the same versioned migrations, run at [Open].
//
// # Model
//
// An override is one (DSP, field) pair with a JSON value, e.g. ("alpha", "recall_target",
// 0.97). The store does not interpret fields or values: the admin package validates them
// before writing and again when it merges a [Snapshot] into the configuration (so a value
// that was damaged on disk is refused, not served). A change ([Store.Apply]) writes its
// overrides, one audit entry per field and a new settings version in one transaction.
//
// # Replicas
//
// Every change increments a single settings version. [Store.Watch] reports a new version
// to its caller: with PostgreSQL through LISTEN/NOTIFY (the notification is sent by the
// changing transaction and delivered at its commit) with a polling fallback, so that every
// replica sees a change within PollInterval even when notifications are lost; with SQLite
// by polling the file (another process may share it).
//
// # Units and concurrency
//
// Times are stored as Unix microseconds (UTC) in both back ends. A *Store is safe for
// concurrent use; changes are serialised by the database (SQLite: immediate transactions;
// PostgreSQL: the row lock on the settings version).
package store
