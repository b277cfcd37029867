package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/bidsieve/bidsieve/modelhistory"
	"github.com/bidsieve/bidsieve/store"
)

// History gives the model history and installs a version of it (cmd/bidsieve wires it to
// the modelhistory folder beside model.path).
type History interface {
	// List returns the entries, newest first.
	List() ([]modelhistory.Entry, error)
	// Rollback installs version over model.path atomically; modelhistory.ErrUnknownVersion
	// (wrapped) when the history has no model file of it. The gateway's watcher reloads it.
	Rollback(version string) error
}

// Folder is a History on a modelhistory folder.
type Folder struct {
	Dir       string // modelhistory.Dir(model.path)
	ModelPath string
}

var _ History = Folder{}

// List implements History.
func (f Folder) List() ([]modelhistory.Entry, error) { return modelhistory.List(f.Dir) }

// Rollback implements History.
func (f Folder) Rollback(version string) error {
	_, err := modelhistory.Install(f.Dir, version, f.ModelPath)
	return err
}

type historyResponse struct {
	InForce string               `json:"in_force"` // the version the gateway serves; "" when none
	Entries []modelhistory.Entry `json:"entries"`
	Note    string               `json:"note,omitempty"`
}

// GET /admin/api/model/history
func (s *Server) modelHistory(w http.ResponseWriter, _ *http.Request, _ principal) {
	resp := historyResponse{Entries: []modelhistory.Entry{}}
	if m := s.model(); m != nil {
		resp.InForce = m.Meta.Version
	}
	if s.opts.History == nil {
		resp.Note = "no model history: model.path is empty"
		writeJSON(w, http.StatusOK, resp)
		return
	}
	entries, err := s.opts.History.List()
	if err != nil {
		// Entries that decode are still shown; the page says some did not.
		s.log.Error("admin api: read model history", "err", err)
		resp.Note = "some history entries could not be read: see the gateway's log"
	}
	if entries != nil {
		resp.Entries = entries
	}
	writeJSON(w, http.StatusOK, resp)
}

type rollbackRequest struct {
	Version string `json:"version"`
}

type rollbackResponse struct {
	Version string            `json:"version"`
	Model   *modelView        `json:"model"` // the model in force when the answer was written
	Audit   *store.AuditEntry `json:"audit,omitempty"`
}

// rollbackAuditField is the audit entry's field for a rollback (DSP "").
const rollbackAuditField = "model_rollback"

// rollbackWait is how long the answer waits for the gateway to serve the version.
const rollbackWait = 2 * time.Second

// POST /admin/api/model/rollback {"version": "..."}
func (s *Server) rollbackModel(w http.ResponseWriter, r *http.Request, who principal) {
	if s.opts.History == nil {
		writeError(w, http.StatusServiceUnavailable, "", "rollback is not available: no model history")
		return
	}
	var req rollbackRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Version == "" {
		writeError(w, http.StatusBadRequest, "version", `the body must be {"version": "VERSION"}, a version of GET /admin/api/model/history`)
		return
	}
	before := versionJSON(s.model())
	err := s.opts.History.Rollback(req.Version)
	switch {
	case errors.Is(err, modelhistory.ErrUnknownVersion):
		writeError(w, http.StatusNotFound, "version", "unknown model version "+req.Version+": the history has no model file of it")
		return
	case err != nil:
		s.log.Error("admin api: rollback failed", "who", who.Name, "version", req.Version, "err", err)
		writeError(w, http.StatusInternalServerError, "", "rollback failed: "+err.Error())
		return
	}
	// The gateway reloads model.path on the rename; wait (briefly) until it serves it.
	deadline := time.Now().Add(rollbackWait)
	for time.Now().Before(deadline) && r.Context().Err() == nil {
		if m := s.model(); m != nil && m.Meta.Version == req.Version {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp := rollbackResponse{Version: req.Version, Model: viewModel(s.model())}
	if s.opts.Store != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), changeTimeout)
		defer cancel()
		e, err := s.opts.Store.Record(ctx, store.AuditEntry{Who: who.Name, DSP: "", Field: rollbackAuditField,
			Old: before, New: canonical(req.Version)})
		if err != nil {
			s.log.Error("admin api: audit the rollback", "err", err)
		} else {
			resp.Audit = &e
		}
	}
	s.log.Info("model rolled back", "who", who.Name, "version", req.Version)
	writeJSON(w, http.StatusOK, resp)
}
