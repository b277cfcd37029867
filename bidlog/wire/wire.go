// Package wire is the compact, versioned binary encoding of one bid-log row, as the gateway
// sends it to Kafka (one row per record value) and `bidsieve bidlog-sink` reads it back.
// The schema is docs/BIDLOG-WIRE.md; this file is its reference implementation.
//
// A record is a version byte followed by the fields of bidlog.Row in a fixed order:
// integers as zig-zag varints, strings as a uvarint length and the bytes, floats as 8
// little-endian IEEE-754 bytes, and the booleans and the presence of true_p in one flags
// byte. Decoding checks every length against what is left and refuses trailing bytes, an
// unknown version or unknown flag bits with an error naming the field.
//
// Concurrency: the functions are pure and safe for concurrent use.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/bidsieve/bidsieve/bidlog"
)

// Version is the encoding version written by Append, the first byte of every record.
const Version byte = 1

// Flag bits of the flags byte.
const (
	flagUserID = 1 << 0
	flagWon    = 1 << 1
	flagTrueP  = 1 << 2
	flagsKnown = flagUserID | flagWon | flagTrueP
)

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("bid-log wire record corrupt")

// Append appends the encoding of r to dst and returns the extended slice.
func Append(dst []byte, r *bidlog.Row) []byte {
	dst = append(dst, Version)
	dst = binary.AppendVarint(dst, r.TS)
	dst = appendString(dst, r.RequestID)
	dst = appendString(dst, r.ImpID)
	dst = appendString(dst, r.DSP)
	f := &r.Raw
	for _, s := range [...]string{f.Country, f.Region, f.DeviceType, f.OS, f.Browser,
		f.Connection, f.Channel, f.Domain, f.Publisher, f.Category, f.Format, f.Position} {
		dst = appendString(dst, s)
	}
	var flags byte
	if f.UserID {
		flags |= flagUserID
	}
	if r.Won {
		flags |= flagWon
	}
	if r.TrueP != nil {
		flags |= flagTrueP
	}
	dst = append(dst, flags)
	dst = appendFloat(dst, f.FloorCPM)
	dst = binary.AppendVarint(dst, int64(f.HourUTC))
	dst = binary.AppendVarint(dst, int64(f.DayOfWeek))
	dst = binary.AppendVarint(dst, int64(f.ImpCount))
	dst = binary.AppendVarint(dst, int64(f.TMaxMS))
	dst = appendString(dst, r.Decision)
	dst = appendFloat(dst, r.Propensity)
	dst = appendFloat(dst, r.Score)
	dst = appendFloat(dst, r.Threshold)
	dst = appendString(dst, r.ModelVersion)
	dst = appendString(dst, r.Outcome)
	dst = appendFloat(dst, r.BidCPM)
	dst = appendFloat(dst, r.ClearCPM)
	dst = appendFloat(dst, r.LatencyMS)
	if r.TrueP != nil {
		dst = appendFloat(dst, *r.TrueP)
	}
	return dst
}

// Size returns the length of Append(nil, r).
func Size(r *bidlog.Row) int { return len(Append(make([]byte, 0, 256), r)) }

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendFloat(dst []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

// Decode decodes one record into r, replacing all of its fields. A record that is not
// exactly one valid encoding gives an error wrapping ErrCorrupt that names the field.
func Decode(b []byte, r *bidlog.Row) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty record", ErrCorrupt)
	}
	if b[0] != Version {
		return fmt.Errorf("%w: version %d, this build reads version %d", ErrCorrupt, b[0], Version)
	}
	d := decoder{b: b, off: 1}
	*r = bidlog.Row{}
	r.TS = d.varint("ts")
	r.RequestID = d.string("request_id")
	r.ImpID = d.string("imp_id")
	r.DSP = d.string("dsp")
	f := &r.Raw
	f.Country = d.string("country")
	f.Region = d.string("region")
	f.DeviceType = d.string("device_type")
	f.OS = d.string("os")
	f.Browser = d.string("browser")
	f.Connection = d.string("connection")
	f.Channel = d.string("channel")
	f.Domain = d.string("domain")
	f.Publisher = d.string("publisher")
	f.Category = d.string("category")
	f.Format = d.string("format")
	f.Position = d.string("position")
	flags := d.byte("flags")
	if d.err == nil && flags&^flagsKnown != 0 {
		d.fail("flags", fmt.Sprintf("unknown bits %#x", flags&^flagsKnown))
	}
	f.UserID = flags&flagUserID != 0
	r.Won = flags&flagWon != 0
	f.FloorCPM = d.float("floor_cpm")
	f.HourUTC = d.int32("hour_utc")
	f.DayOfWeek = d.int32("day_of_week")
	f.ImpCount = d.int32("imp_count")
	f.TMaxMS = d.int32("tmax_ms")
	r.Decision = d.string("decision")
	r.Propensity = d.float("propensity")
	r.Score = d.float("score")
	r.Threshold = d.float("threshold")
	r.ModelVersion = d.string("model_version")
	r.Outcome = d.string("outcome")
	r.BidCPM = d.float("bid_cpm")
	r.ClearCPM = d.float("clear_cpm")
	r.LatencyMS = d.float("latency_ms")
	if flags&flagTrueP != 0 {
		p := d.float("true_p")
		r.TrueP = &p
	}
	if d.err == nil && d.off != len(b) {
		d.fail("end", fmt.Sprintf("%d trailing bytes", len(b)-d.off))
	}
	if d.err != nil {
		*r = bidlog.Row{}
	}
	return d.err
}

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(field, what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: field %s at byte %d: %s", ErrCorrupt, field, d.off, what)
	}
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(field, "bad or truncated varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) int32(field string) int32 {
	v := d.varint(field)
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(field, fmt.Sprintf("%d out of int32 range", v))
		return 0
	}
	return int32(v)
}

func (d *decoder) string(field string) string {
	if d.err != nil {
		return ""
	}
	n, k := binary.Uvarint(d.b[d.off:])
	if k <= 0 {
		d.fail(field, "bad or truncated length")
		return ""
	}
	if n > uint64(len(d.b)-d.off-k) {
		d.fail(field, fmt.Sprintf("length %d past the end of the record", n))
		return ""
	}
	d.off += k
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(field, "truncated")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) float(field string) float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.off < 8 {
		d.fail(field, "truncated float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v
}
