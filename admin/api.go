package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/stats"
	"github.com/bidsieve/bidsieve/store"
)

// settingsView is a DSP's settings in force.
type settingsView struct {
	Enabled         bool     `json:"enabled"`
	Mode            string   `json:"mode"`
	RecallTarget    float64  `json:"recall_target"`
	Threshold       *float64 `json:"threshold"` // null: the model's threshold for recall_target
	ExplorationRate float64  `json:"exploration_rate"`
	QPSLimit        int      `json:"qps_limit"`
}

// dspView is one DSP in GET /admin/api/dsps.
type dspView struct {
	Name       string       `json:"name"`
	Settings   settingsView `json:"settings"`
	Overridden []string     `json:"overridden"` // fields the settings store overrides
	// OperatingPoint is null without a model curve for the DSP.
	OperatingPoint *operatingPoint `json:"operating_point"`
	// Live is null when the gateway gives no figures.
	Live *stats.Figures `json:"live"`
}

type modelView struct {
	Version      string    `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	RecallTarget float64   `json:"recall_target"` // the target it was trained for
}

type dspsResponse struct {
	You             principal  `json:"you"`
	Store           string     `json:"store"`     // the settings store; "" when running on the file configuration
	ReadOnly        bool       `json:"read_only"` // changes are refused (no store)
	SettingsVersion int64      `json:"settings_version"`
	Model           *modelView `json:"model"` // null: no model loaded
	// Load is the gateway's edge: auctions, those shed for load and the shed share over
	// the live window; null when the admin server has no gateway.
	Load *stats.Load `json:"load"`
	DSPs []dspView   `json:"dsps"`
}

func (s *Server) model() *modelfile.File {
	if s.opts.Models == nil {
		return nil
	}
	return s.opts.Models.Model()
}

// live returns the gateway's live figures, nil when it gives none.
func (s *Server) live() map[string]stats.Figures {
	if s.opts.Figures == nil {
		return nil
	}
	return s.opts.Figures.Figures()
}

func viewModel(m *modelfile.File) *modelView {
	if m == nil {
		return nil
	}
	return &modelView{Version: m.Meta.Version, CreatedAt: m.Meta.CreatedAt, RecallTarget: m.Meta.RecallTarget}
}

func (s *Server) dspView(cfg *config.Config, d *config.DSP, m *modelfile.File, live map[string]stats.Figures) dspView {
	sh := d.ShapingFor(cfg.Shaping)
	v := dspView{
		Name: d.Name,
		Settings: settingsView{
			Enabled: d.Enabled, Mode: sh.Mode, RecallTarget: sh.RecallTarget, Threshold: sh.Threshold,
			ExplorationRate: sh.ExplorationRate, QPSLimit: d.QPSLimit,
		},
		Overridden: s.opts.Settings.overridden(d.Name),
	}
	if v.Overridden == nil {
		v.Overridden = []string{}
	}
	if m != nil {
		if md := m.DSPByName(d.Name); md != nil {
			op := pointFor(md, sh, d.Enabled)
			v.OperatingPoint = &op
		}
	}
	if live != nil {
		if f, ok := live[d.Name]; ok {
			v.Live = &f
		}
	}
	return v
}

// GET /admin/api/dsps
func (s *Server) listDSPs(w http.ResponseWriter, _ *http.Request, who principal) {
	cfg := s.opts.Settings.Effective()
	m := s.model()
	live := s.live()
	resp := dspsResponse{
		You: who, Store: s.opts.Settings.StoreName(), ReadOnly: s.opts.Settings.ReadOnly(),
		SettingsVersion: s.opts.Settings.Version(), Model: viewModel(m),
		DSPs: make([]dspView, 0, len(cfg.DSPs)),
	}
	if s.opts.Load != nil {
		l := s.opts.Load.Load()
		resp.Load = &l
	}
	for i := range cfg.DSPs {
		resp.DSPs = append(resp.DSPs, s.dspView(cfg, &cfg.DSPs[i], m, live))
	}
	writeJSON(w, http.StatusOK, resp)
}

type curveResponse struct {
	DSP   string     `json:"dsp"`
	Model *modelView `json:"model"`
	// TrainedTarget and TrainedThreshold are the model's own choice; OK false means the
	// model serves this DSP unfiltered, for Reason.
	TrainedTarget    float64     `json:"trained_target"`
	TrainedThreshold float64     `json:"trained_threshold"`
	OK               bool        `json:"ok"`
	Reason           string      `json:"reason,omitempty"`
	Curve            []pointView `json:"curve"`
	// OperatingPoint is where the settings in force put the DSP.
	OperatingPoint *operatingPoint `json:"operating_point"`
	// Preview is where ?recall_target= or ?threshold= would put it.
	Preview *operatingPoint `json:"preview,omitempty"`
	Note    string          `json:"note,omitempty"`
}

// GET /admin/api/dsps/{name}/curve[?recall_target=R | ?threshold=T]
func (s *Server) curve(w http.ResponseWriter, r *http.Request, _ principal) {
	cfg := s.opts.Settings.Effective()
	d := cfg.DSP(r.PathValue("name"))
	if d == nil {
		writeError(w, http.StatusNotFound, "", "unknown DSP")
		return
	}
	sh := d.ShapingFor(cfg.Shaping)
	var preview *config.DSPShaping
	q := r.URL.Query()
	if q.Has(FieldRecallTarget) && q.Has(FieldThreshold) {
		writeError(w, http.StatusBadRequest, FieldThreshold, "preview a recall_target or a threshold, not both")
		return
	}
	for _, name := range []string{FieldRecallTarget, FieldThreshold} {
		if !q.Has(name) {
			continue
		}
		f, _ := fieldByName(name)
		raw, err := f.parse(json.RawMessage(previewValue(q.Get(name))))
		if err != nil {
			var fe *FieldError
			errors.As(err, &fe)
			writeError(w, http.StatusBadRequest, fe.Field, fe.Error())
			return
		}
		p := sh
		if name == FieldRecallTarget {
			p.RecallTarget, p.Threshold = *decodeFloatPtr(raw), nil
		} else {
			p.Threshold = decodeFloatPtr(raw)
		}
		preview = &p
	}

	m := s.model()
	resp := curveResponse{DSP: d.Name, Model: viewModel(m), Curve: []pointView{}}
	md := (*modelfile.DSP)(nil)
	if m != nil {
		md = m.DSPByName(d.Name)
	}
	switch {
	case m == nil:
		resp.Note = "no model is loaded: every DSP is sent everything"
	case md == nil:
		resp.Note = "the model has no curve for this DSP: it is sent everything"
	default:
		resp.TrainedTarget, resp.TrainedThreshold, resp.OK, resp.Reason = md.Target, md.Threshold, md.OK, md.Reason
		for _, p := range md.Curve {
			resp.Curve = append(resp.Curve, viewPoint(p))
		}
		op := pointFor(md, sh, d.Enabled)
		resp.OperatingPoint = &op
		if preview != nil {
			pv := pointFor(md, *preview, d.Enabled)
			resp.Preview = &pv
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// previewValue turns a query value into JSON: a number stays, "null" stays, anything else
// becomes a string (and fails the number check with a clear message).
func previewValue(v string) string {
	if v == "null" {
		return v
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil && json.Valid([]byte(v)) {
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

type patchResponse struct {
	DSP     dspView            `json:"dsp"`
	Changes []store.AuditEntry `json:"changes"` // the audit entries written; empty when nothing changed
}

// PATCH /admin/api/dsps/{name}
func (s *Server) patchDSP(w http.ResponseWriter, r *http.Request, who principal) {
	name := r.PathValue("name")
	if s.opts.Settings.Effective().DSP(name) == nil {
		writeError(w, http.StatusNotFound, "", "unknown DSP")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		writeError(w, http.StatusUnsupportedMediaType, "", "send application/json")
		return
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "", "request body too large")
			return
		}
		writeError(w, http.StatusBadRequest, "", "could not read the request body")
		return
	}
	var values map[string]json.RawMessage
	if err := strictDecode(buf.Bytes(), &values); err != nil || values == nil {
		writeError(w, http.StatusBadRequest, "", "the body must be a JSON object such as {\"recall_target\": 0.97}")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), changeTimeout)
	defer cancel()
	entries, err := s.opts.Settings.Change(ctx, who.Name, name, values)
	var fe *FieldError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Field, fe.Error())
		return
	case errors.Is(err, ErrUnknownDSP):
		writeError(w, http.StatusNotFound, "", "unknown DSP")
		return
	case errors.Is(err, ErrReadOnly):
		writeError(w, http.StatusServiceUnavailable, "", ErrReadOnly.Error())
		return
	case entries != nil:
		// Saved and audited, not yet in force here; Run retries. Say so.
		s.log.Error("admin api: change saved but not in force", "dsp", name, "who", who.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "", "the change was saved but is not in force yet; it will be retried")
		return
	default:
		s.log.Error("admin api: change failed", "dsp", name, "who", who.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "", "the change could not be saved")
		return
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	cfg := s.opts.Settings.Effective()
	writeJSON(w, http.StatusOK, patchResponse{DSP: s.dspView(cfg, cfg.DSP(name), s.model(), s.live()), Changes: entries})
}

// changeTimeout bounds a change's store transaction and the merge that follows.
const changeTimeout = 15 * time.Second

func isJSON(ct string) bool {
	mt, _, _ := bytes.Cut([]byte(ct), []byte(";"))
	return string(bytes.TrimSpace(bytes.ToLower(mt))) == "application/json"
}

type auditResponse struct {
	Entries []store.AuditEntry `json:"entries"`
	// Next is the before= value of the next (older) page; 0 when this is the last.
	Next int64  `json:"next"`
	Note string `json:"note,omitempty"`
}

// GET /admin/api/audit[?dsp=NAME][&before=ID][&limit=N]
func (s *Server) audit(w http.ResponseWriter, r *http.Request, _ principal) {
	q := r.URL.Query()
	var aq store.AuditQuery
	aq.DSP = q.Get("dsp")
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "before", "before: must be an audit entry id (a whole number >= 0)")
			return
		}
		aq.Before = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxAuditPage {
			writeError(w, http.StatusBadRequest, "limit", "limit: must be a whole number in [1, "+strconv.Itoa(store.MaxAuditPage)+"]")
			return
		}
		aq.Limit = n
	}
	if s.opts.Store == nil {
		writeJSON(w, http.StatusOK, auditResponse{Entries: []store.AuditEntry{}, Note: "no settings store: running on the file configuration"})
		return
	}
	entries, next, err := s.opts.Store.Audit(r.Context(), aq)
	if err != nil {
		s.log.Error("admin api: read audit", "err", err)
		writeError(w, http.StatusInternalServerError, "", "the audit trail could not be read")
		return
	}
	writeJSON(w, http.StatusOK, auditResponse{Entries: entries, Next: next})
}

type reloadResponse struct {
	Model *modelView        `json:"model"`
	Audit *store.AuditEntry `json:"audit,omitempty"`
}

// modelAuditField is the audit entry's field for a model reload (DSP "").
const modelAuditField = "model"

// POST /admin/api/model/reload
func (s *Server) reloadModel(w http.ResponseWriter, r *http.Request, who principal) {
	if s.opts.ReloadModel == nil {
		writeError(w, http.StatusServiceUnavailable, "", "model reload is not available")
		return
	}
	before := versionJSON(s.model())
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := s.opts.ReloadModel(ctx); err != nil {
		s.log.Error("admin api: model reload failed", "who", who.Name, "err", err)
		// The reason (a file that does not validate, a spec mismatch) is what an admin
		// needs to act on; this call is for admins only.
		writeError(w, http.StatusInternalServerError, "", "model reload failed: "+err.Error())
		return
	}
	m := s.model()
	resp := reloadResponse{Model: viewModel(m)}
	if s.opts.Store != nil {
		e, err := s.opts.Store.Record(r.Context(), store.AuditEntry{Who: who.Name, DSP: "", Field: modelAuditField, Old: before, New: versionJSON(m)})
		if err != nil {
			s.log.Error("admin api: audit the model reload", "err", err)
		} else {
			resp.Audit = &e
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func versionJSON(m *modelfile.File) json.RawMessage {
	if m == nil {
		return json.RawMessage("null")
	}
	return canonical(m.Meta.Version)
}
