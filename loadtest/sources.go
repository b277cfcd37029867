package loadtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
)

// Request is one request of a run: its body and the tmax it carries (0: none).
type Request struct {
	Body []byte
	TMax time.Duration
}

// Source makes the requests of runs.
type Source interface {
	// Stream returns the maker of one run's requests, drawn from seed: the same seed gives
	// the same requests in the same order. The maker is used by one goroutine.
	Stream(seed uint64) func() Request
}

// Profiles is the Source of a simulator traffic description: requests drawn by its
// generator.
type Profiles struct{ Traffic sim.Traffic }

// Stream implements Source.
func (p Profiles) Stream(seed uint64) func() Request {
	gen := traffic.New(p.Traffic, seed)
	return func() Request {
		req := gen.Next()
		body, err := json.Marshal(req)
		if err != nil {
			panic(err) // a generated request always encodes
		}
		return Request{Body: body, TMax: time.Duration(req.TMax) * time.Millisecond}
	}
}

// Corpus is the Source of a folder of OpenRTB request files, replayed in the order of
// their names, over and over. Every replayed request gets a fresh id, so that no two
// auctions of a run are the same; the rest of the file is sent as it is.
type Corpus struct {
	Files []string // the files' names, in replay order
	reqs  []corpusRequest
}

// corpusRequest is a file's request encoded around its id: prefix + "id" + suffix.
type corpusRequest struct {
	prefix, suffix []byte
	tmax           time.Duration
}

// idMark stands for the id while a file's request is encoded.
const idMark = `"\u0000bidsieve-loadtest-id\u0000"`

// LoadCorpus reads every *.json file of dir: one JSON BidRequest object per file.
func LoadCorpus(dir string) (*Corpus, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	c := &Corpus{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read corpus: %w", err)
		}
		r, err := newCorpusRequest(data)
		if err != nil {
			return nil, fmt.Errorf("corpus file %s: %w", e.Name(), err)
		}
		c.Files = append(c.Files, e.Name())
		c.reqs = append(c.reqs, r)
	}
	if len(c.reqs) == 0 {
		return nil, fmt.Errorf("corpus %s has no .json file", dir)
	}
	return c, nil
}

func newCorpusRequest(data []byte) (corpusRequest, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return corpusRequest{}, errors.New("not a JSON object")
	}
	var r corpusRequest
	if t, ok := fields["tmax"]; ok {
		ms, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil || ms < 0 {
			return corpusRequest{}, fmt.Errorf("tmax %s is not a count of ms", t)
		}
		r.tmax = time.Duration(ms) * time.Millisecond
	}
	fields["id"] = json.RawMessage(idMark)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return corpusRequest{}, fmt.Errorf("encode: %w", err)
	}
	out := bytes.TrimSpace(b.Bytes())
	i := bytes.Index(out, []byte(idMark))
	r.prefix, r.suffix = slices.Clone(out[:i]), slices.Clone(out[i+len(idMark):])
	return r, nil
}

// Stream implements Source: the i-th request of a run (from 0) is file i modulo the
// number of files, with the id "c{seed in hex}-{i}".
func (c *Corpus) Stream(seed uint64) func() Request {
	var i int
	return func() Request {
		r := &c.reqs[i%len(c.reqs)]
		id := strconv.Quote("c" + strconv.FormatUint(seed, 16) + "-" + strconv.Itoa(i))
		i++
		body := make([]byte, 0, len(r.prefix)+len(id)+len(r.suffix))
		body = append(append(append(body, r.prefix...), id...), r.suffix...)
		return Request{Body: body, TMax: r.tmax}
	}
}
