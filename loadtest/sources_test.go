package loadtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// corpusServer records the requests it gets, and answers 204.
type corpusServer struct {
	mu   sync.Mutex
	got  []map[string]any
	bads int
}

func (s *corpusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	s.mu.Lock()
	defer s.mu.Unlock()
	if json.Unmarshal(body, &m) != nil {
		s.bads++
	} else {
		s.got = append(s.got, m)
	}
	w.WriteHeader(http.StatusNoContent)
}

// replay sends n requests of the corpus in dir and returns what the server got.
func replay(t *testing.T, dir string, n int) (*Corpus, []map[string]any) {
	t.Helper()
	c, err := LoadCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := &corpusServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	res, err := Run(context.Background(), Config{Targets: []string{hs.URL}, QPS: 1000, Duration: time.Duration(n) * time.Millisecond, Source: c, Seed: 3,
		Timeout: time.Minute}) // a loaded machine may be slow, and the test is not about time
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered != int64(n) || srv.bads != 0 {
		t.Fatalf("answered %d of %d, %d bodies not JSON", res.Answered, n, srv.bads)
	}
	return c, srv.got
}

// checkReplayed checks that each file's request was received times times, each time with
// a fresh id ("c3-{i}", i the request's rank in the run: file i modulo the files) and
// otherwise as in the file.
func checkReplayed(t *testing.T, dir string, c *Corpus, got []map[string]any, times int) {
	t.Helper()
	want := make([]map[string]any, len(c.Files))
	for i, name := range c.Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &want[i]); err != nil {
			t.Fatal(err)
		}
		delete(want[i], "id")
	}
	seen := make([]int, len(c.Files))
	ids := map[string]bool{}
	for _, m := range got {
		id, _ := m["id"].(string)
		rank, err := strconv.Atoi(strings.TrimPrefix(id, "c3-"))
		if err != nil || ids[id] {
			t.Fatalf("id %q is not fresh", id)
		}
		ids[id] = true
		delete(m, "id")
		f := rank % len(c.Files)
		if !reflect.DeepEqual(m, want[f]) {
			t.Errorf("request %s differs from %s:\n%v\n%v", id, c.Files[f], m, want[f])
		}
		seen[f]++
	}
	for i, n := range seen {
		if n != times {
			t.Errorf("%s was received %d times, want %d", c.Files[i], n, times)
		}
	}
}

// Every file of a corpus is sent, in turn, each time with a fresh id and otherwise as
// written (vendor ext included).
func TestCorpusReplaysEachFile(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.json":   `{"id": "same", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}], "tmax": 120, "ext": {"x": "<&>"}}`,
		"b.json":   `{"id": "same", "imp": [{"id": "1", "video": {"mimes": ["video/mp4"]}}], "app": {"bundle": "b"}}`,
		"c.json":   `{"imp": [{"id": "9", "native": {"request": "{}"}}], "site": {"page": "https://p/"}, "unknown_field": [1, 2]}`,
		"note.txt": "not a request",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noLeaks(t)
	c, got := replay(t, dir, 30)
	if strings.Join(c.Files, ",") != "a.json,b.json,c.json" || c.reqs[0].tmax != 120*time.Millisecond {
		t.Errorf("corpus files %v, tmax %v", c.Files, c.reqs[0].tmax)
	}
	checkReplayed(t, dir, c, got, 10)
}

// The shared corpus: each of its files is sent once in a run of as many requests.
func TestSharedCorpusReplay(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "ortb-corpus", "requests")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("corpus test skipped: ../shared/ortb-corpus (beside the repository root) is absent")
	}
	noLeaks(t)
	c, err := LoadCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	c2, got := replay(t, dir, len(c.Files))
	checkReplayed(t, dir, c2, got, 1)
}

func TestCorpusErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCorpus(dir); err == nil || !strings.Contains(err.Error(), "has no .json file") {
		t.Errorf("empty folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`[1]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCorpus(dir); err == nil || !strings.Contains(err.Error(), "corpus file bad.json: not a JSON object") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := LoadCorpus(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "read corpus") {
		t.Errorf("absent folder: %v", err)
	}
}
