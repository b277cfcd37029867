package gateway

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/bidsieve/bidsieve/gateway/auction"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// MaxImps is the most imps a request may carry: more would let one request fan out into an
// unbounded amount of work and bid-log rows.
const MaxImps = 100

// RequestError is a request the gateway refuses: the HTTP status (400, 413 or 415), the
// field at fault as the corpus names it ("imp[1].id", "cur[0]", "body") and what is wrong.
type RequestError struct {
	Status int
	Field  string
	Msg    string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Msg }

func badField(field, format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Field: field, Msg: fmt.Sprintf(format, args...)}
}

var gzipReaders sync.Pool // *gzip.Reader

// readBody reads the request body into buf: at most limit bytes, gunzipped when the
// Content-Encoding says gzip or, without one, the query has gzip=1 (Prebid.js's
// endpointCompression, which leaves the header out to spare a CORS preflight). The limit
// applies to both sides. The body's Content-Type is not looked at: Prebid.js sends its
// JSON as text/plain.
func readBody(r *http.Request, limit int64, buf *bytes.Buffer) *RequestError {
	tooLarge := &RequestError{Status: http.StatusRequestEntityTooLarge, Field: "body", Msg: fmt.Sprintf("larger than %d bytes", limit)}
	body := http.MaxBytesReader(nil, r.Body, limit)
	var src io.Reader = body
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc == "" && gzipQuery(r.URL.RawQuery) {
		enc = "gzip"
	}
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(body)
		} else {
			err = zr.Reset(body)
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tooLarge
			}
			return badField("body", "invalid gzip: %v", err)
		}
		defer gzipReaders.Put(zr)
		src = zr
	default:
		return &RequestError{Status: http.StatusUnsupportedMediaType, Field: "Content-Encoding", Msg: fmt.Sprintf("unsupported encoding %q (want gzip or none)", enc)}
	}
	n, err := buf.ReadFrom(io.LimitReader(src, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), n > limit:
		return tooLarge
	case err != nil:
		if src != io.Reader(body) {
			return badField("body", "invalid gzip: %v", err)
		}
		return badField("body", "unreadable: %v", err)
	}
	return nil
}

// gzipQuery reports whether a query string asks for a gzipped body: gzip=1 (Prebid.js)
// or gzip=true.
func gzipQuery(raw string) bool {
	if raw == "" {
		return false
	}
	q, _ := url.ParseQuery(raw) // the pairs that parse, even when another does not
	v := q.Get("gzip")
	return v == "1" || strings.EqualFold(v, "true")
}

// DecodeRequest decodes an OpenRTB 2.5/2.6 bid request (JSON) into req, which should be
// zero. A JSON error names the field when the decoder knows it.
func DecodeRequest(body []byte, req *openrtb2.BidRequest) *RequestError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badField("body", "empty")
	}
	err := json.Unmarshal(body, req)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badField("body", "invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return badField(field, "want %s, got JSON %s", jsonKind(te.Type.Kind().String()), te.Value)
	default:
		return badField("body", "invalid JSON: %v", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

// ValidateRequest checks what an auction needs: an id, 1 to MaxImps imps with unique ids
// and a media object each, non-negative floors in known currencies, known currencies in
// cur, at most one of site, app and dooh, a non-negative tmax. It returns the first problem.
func ValidateRequest(req *openrtb2.BidRequest, rates *auction.Rates) *RequestError {
	if strings.TrimSpace(req.ID) == "" {
		return badField("id", "missing")
	}
	if len(req.Imp) == 0 {
		return badField("imp", "empty or missing")
	}
	if len(req.Imp) > MaxImps {
		return badField("imp", "%d imps, more than %d", len(req.Imp), MaxImps)
	}
	if req.TMax < 0 {
		return badField("tmax", "negative")
	}
	n := 0
	for _, present := range []bool{req.Site != nil, req.App != nil, req.DOOH != nil} {
		if present {
			n++
		}
	}
	if n > 1 {
		field := "app"
		if req.App == nil {
			field = "dooh"
		}
		return badField(field, "not allowed together with site or app (a request has at most one of site, app, dooh)")
	}
	for i, c := range req.Cur {
		if !rates.Known(c) {
			return badField(indexed("cur", i, ""), "unknown currency %q", c)
		}
	}
	for i := range req.Imp {
		imp := &req.Imp[i]
		if strings.TrimSpace(imp.ID) == "" {
			return badField(indexed("imp", i, ".id"), "missing")
		}
		for j := range i {
			if req.Imp[j].ID == imp.ID {
				return badField(indexed("imp", i, ".id"), "duplicate")
			}
		}
		if imp.Banner == nil && imp.Video == nil && imp.Native == nil && imp.Audio == nil {
			return badField(indexed("imp", i, ""), "no banner, video, native or audio")
		}
		if imp.BidFloor < 0 || math.IsNaN(imp.BidFloor) {
			return badField(indexed("imp", i, ".bidfloor"), "negative")
		}
		if imp.BidFloor > auction.MaxPrice.Float() {
			return badField(indexed("imp", i, ".bidfloor"), "above %s", auction.MaxPrice)
		}
		if imp.BidFloorCur != "" && !rates.Known(imp.BidFloorCur) {
			return badField(indexed("imp", i, ".bidfloorcur"), "unknown currency %q", imp.BidFloorCur)
		}
		if imp.BidFloor > 0 && imp.BidFloorCur == "" && !rates.Known(auction.DefaultCurrency) {
			return badField(indexed("imp", i, ".bidfloorcur"), "missing, and the default %s is not configured", auction.DefaultCurrency)
		}
	}
	return nil
}

// indexed formats "name[i]suffix" with one allocation.
func indexed(name string, i int, suffix string) string {
	b := make([]byte, 0, len(name)+len(suffix)+6)
	b = append(b, name...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ']')
	b = append(b, suffix...)
	return string(b)
}
