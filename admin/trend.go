package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bidsieve/bidsieve/stats"
)

// TrendFile is the name of the trend file beside model.path.
const TrendFile = "trend.jsonl"

// TrendKeep is how long trend points are kept, on the gateway's clock.
const TrendKeep = 7 * 24 * time.Hour

// TrendPoint is one sample of the live figures: when (the gateway's clock, simulated
// under serve --clock), the model version in force, and per DSP its live recall estimate
// and the share of its traffic the model withheld over the live window.
type TrendPoint struct {
	At    time.Time              `json:"at"`
	Model string                 `json:"model"` // "" when no model is in force
	DSPs  map[string]TrendFigure `json:"dsps"`
}

// TrendFigure is one DSP's figures in a [TrendPoint].
type TrendFigure struct {
	Recall   *stats.Interval `json:"recall"` // nil: not estimable (too few bids)
	Withheld float64         `json:"withheld"`
	Offered  int64           `json:"offered"`
	Drift    bool            `json:"drift,omitempty"`
}

// Trend keeps the trend points of the last [TrendKeep], newest last, in memory and, when
// it has a path, in a JSON-lines file appended one line per point, so that the chart
// survives a restart. A line that does not decode (a torn last write, a hand edit) is
// skipped with a warning: the trend is a view, never a reason not to start. The file is
// rewritten without the expired points when it holds twice as many lines as are kept.
// Safe for concurrent use.
type Trend struct {
	mu     sync.Mutex
	path   string
	log    *slog.Logger
	points []TrendPoint
	lines  int // lines in the file
}

// OpenTrend reads the trend file at path ("" keeps the trend in memory only). A missing
// file is an empty trend; one that cannot be read is an error naming it.
func OpenTrend(path string, log *slog.Logger) (*Trend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Trend{path: path, log: log}
	if path == "" {
		return t, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trend file: %w", err)
	}
	bad := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		t.lines++
		var p TrendPoint
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.At.IsZero() {
			bad++
			continue
		}
		t.points = append(t.points, p)
	}
	if err := sc.Err(); err != nil {
		bad++
	}
	if bad > 0 {
		log.Warn("trend file: lines skipped that do not decode", "file", path, "skipped", bad)
	}
	slices.SortStableFunc(t.points, func(a, b TrendPoint) int { return a.At.Compare(b.At) })
	t.expire()
	return t, nil
}

// expire drops the points older than TrendKeep before the newest. t.mu is held.
func (t *Trend) expire() {
	if len(t.points) == 0 {
		return
	}
	from := t.points[len(t.points)-1].At.Add(-TrendKeep)
	i, _ := slices.BinarySearchFunc(t.points, from, func(p TrendPoint, at time.Time) int { return p.At.Compare(at) })
	t.points = slices.Delete(t.points, 0, i)
}

// Add records p, after the points it already has (a point older than the newest one,
// as after a clock set back, is kept in time order).
func (t *Trend) Add(p TrendPoint) error {
	line, err := json.Marshal(p)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	i, _ := slices.BinarySearchFunc(t.points, p.At, func(q TrendPoint, at time.Time) int {
		if q.At.After(at) {
			return 1
		}
		return -1
	})
	t.points = slices.Insert(t.points, i, p)
	t.expire()
	if t.path == "" {
		return nil
	}
	if t.lines >= 2*len(t.points)+64 {
		return t.rewrite()
	}
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("trend file: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("trend file: %w", err)
	}
	t.lines++
	return nil
}

// rewrite writes the points kept to a temporary file and renames it over the file.
// t.mu is held.
func (t *Trend) rewrite() error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, p := range t.points {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(t.path), ".trend-*")
	if err != nil {
		return fmt.Errorf("trend file: %w", err)
	}
	_, err = tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), t.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("trend file: %w", err)
	}
	t.lines = len(t.points)
	return nil
}

// Last returns a copy of the points within d before the newest one, oldest first.
func (t *Trend) Last(d time.Duration) []TrendPoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.points) == 0 {
		return nil
	}
	from := t.points[len(t.points)-1].At.Add(-d)
	i, _ := slices.BinarySearchFunc(t.points, from, func(p TrendPoint, at time.Time) int { return p.At.Compare(at) })
	return slices.Clone(t.points[i:])
}

// Sample returns the trend point of the live figures and the model in force at at
// (either source may be nil).
func Sample(at time.Time, figs Figures, models Models) TrendPoint {
	p := TrendPoint{At: at.UTC(), DSPs: map[string]TrendFigure{}}
	if models != nil {
		if m := models.Model(); m != nil {
			p.Model = m.Meta.Version
		}
	}
	if figs != nil {
		for name, f := range figs.Figures() {
			p.DSPs[name] = TrendFigure{Recall: f.Recall(), Withheld: f.Withheld(), Offered: f.Offered, Drift: f.Drift}
		}
	}
	return p
}

// RecordTrend adds a [Sample] to t every every (real time) until ctx ends; now stamps the
// points (the gateway's clock). A point that cannot be written is logged, and the next
// one is tried.
func RecordTrend(ctx context.Context, t *Trend, every time.Duration, now func() time.Time, figs Figures, models Models) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.Add(Sample(now(), figs, models)); err != nil {
				t.log.Error("admin: trend point not written", "err", err)
			}
		}
	}
}

type trendResponse struct {
	Points []TrendPoint `json:"points"`
	// Models are the points where the model in force changed (the first point's model
	// included): the chart's version marks.
	Models []modelMark `json:"models"`
	Note   string      `json:"note,omitempty"`
}

type modelMark struct {
	At      time.Time `json:"at"`
	Version string    `json:"version"`
}

// trendMaxDays bounds ?days=.
const trendMaxDays = 7

// GET /admin/api/trend?days=N (1 to 7, default 7): the points of the last N days before
// the newest.
func (s *Server) trend(w http.ResponseWriter, r *http.Request, _ principal) {
	days := trendMaxDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > trendMaxDays {
			writeError(w, http.StatusBadRequest, "days", "days must be a whole number from 1 to 7")
			return
		}
		days = n
	}
	resp := trendResponse{Points: []TrendPoint{}, Models: []modelMark{}}
	if s.opts.Trend == nil {
		resp.Note = "no trend is recorded: admin_trend_every is 0"
		writeJSON(w, http.StatusOK, resp)
		return
	}
	if pts := s.opts.Trend.Last(time.Duration(days) * 24 * time.Hour); pts != nil {
		resp.Points = pts
	}
	for i, p := range resp.Points {
		if i == 0 || p.Model != resp.Points[i-1].Model {
			resp.Models = append(resp.Models, modelMark{At: p.At, Version: p.Model})
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
