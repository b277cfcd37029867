package sim

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"

	"github.com/bidsieve/bidsieve/rnd"
	"gopkg.in/yaml.v3"
)

// Profiles is a loaded simulator profile file: the publisher traffic and the DSPs.
// It is immutable after loading and safe for concurrent use.
type Profiles struct {
	Traffic Traffic
	DSPs    []*DSP // in file order
}

// DSP returns the DSP with the given name, or nil.
func (p *Profiles) DSP(name string) *DSP {
	for _, d := range p.DSPs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Names returns the names of the DSPs, in file order.
func (p *Profiles) Names() []string {
	names := make([]string, len(p.DSPs))
	for i, d := range p.DSPs {
		names[i] = d.Name
	}
	return names
}

// Traffic describes the publisher traffic (the `traffic` section).
type Traffic struct {
	Seed           int64   // the publisher universe depends on it alone
	Publishers     int     // number of synthetic publishers
	ZipfS          float64 // volume of the publisher of rank k is proportional to 1/k^ZipfS; 0: uniform
	AppShare       float64 // share of publishers that are apps
	Country        []Share // ISO alpha-3 codes
	DeviceType     []Share // phone, tablet, desktop, ctv, other
	OS             []Share // android, ios, windows, macos, other
	Format         []Share // WxH, video, native, audio
	Floor          Lognormal
	UserIDRate     float64 // share of requests carrying a user id (sites) or an IFA (apps)
	ImpsPerRequest []Share // values "1", "2", ...
}

// Share is one value of a distribution and its weight. Distributions are sorted by
// value, so that the order of keys in the file does not change the traffic.
type Share struct {
	Value  string
	Weight float64
}

// Lognormal is a lognormal distribution given by its median and the sigma of its log.
// A zero median means "none" (for floors: no floor).
type Lognormal struct {
	MedianCPM float64
	Sigma     float64
}

// Load reads and validates a profile file.
func Load(path string) (*Profiles, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("profiles %s: %w", path, err)
	}
	return p, nil
}

// Parse reads and validates profiles in the format of docs/DESIGN.md ("Simulator profiles").
// It is strict: unknown keys, values out of range and malformed hour ranges are errors,
// each naming the DSP (or traffic) and the key; all of them are returned at once.
func Parse(data []byte) (*Profiles, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse profiles: %w", err)
	}
	if root.Kind == 0 {
		return nil, errors.New("parse profiles: empty file")
	}
	c := &checker{}
	top := c.fields("profiles", "", &root, "traffic", "dsps")
	p := &Profiles{}
	if top != nil {
		if n, ok := top["traffic"]; ok {
			c.traffic(n, &p.Traffic)
		} else {
			c.errorf("profiles", "traffic", nil, "missing")
		}
		if n, ok := top["dsps"]; ok {
			p.DSPs = c.dsps(n)
		} else {
			c.errorf("profiles", "dsps", nil, "missing")
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return p, nil
}

const shareTolerance = 0.01

func (c *checker) traffic(n *yaml.Node, t *Traffic) {
	const w = "traffic"
	f := c.fields(w, "", n, "seed", "publishers", "zipf_s", "app_share", "country", "device_type",
		"os", "format", "floor", "user_id_rate", "imps_per_request")
	if f == nil {
		return
	}
	for _, k := range []string{"publishers", "country", "device_type", "os", "format"} {
		if _, ok := f[k]; !ok {
			c.errorf(w, k, n, "missing")
		}
	}
	if v, ok := f["seed"]; ok {
		if s, ok := c.integer(w, "seed", v, math.MinInt64, math.MaxInt64); ok {
			t.Seed = s
		}
	}
	if v, ok := f["publishers"]; ok {
		if s, ok := c.integer(w, "publishers", v, 1, 10_000_000); ok {
			t.Publishers = int(s)
		}
	}
	if v, ok := f["zipf_s"]; ok {
		t.ZipfS, _ = c.floatIn(w, "zipf_s", v, 0, 10)
	}
	if v, ok := f["app_share"]; ok {
		t.AppShare, _ = c.floatIn(w, "app_share", v, 0, 1)
	}
	if v, ok := f["user_id_rate"]; ok {
		t.UserIDRate, _ = c.floatIn(w, "user_id_rate", v, 0, 1)
	}
	t.Country = c.shares(w, "country", f["country"], func(s string) error { return checkValue(Country, s) })
	t.DeviceType = c.shares(w, "device_type", f["device_type"], func(s string) error { return checkValue(DeviceType, s) })
	t.OS = c.shares(w, "os", f["os"], func(s string) error { return checkValue(OS, s) })
	t.Format = c.shares(w, "format", f["format"], func(s string) error { return checkValue(Format, s) })
	if v, ok := f["imps_per_request"]; ok {
		t.ImpsPerRequest = c.shares(w, "imps_per_request", v, func(s string) error {
			k, err := strconv.Atoi(s)
			if err != nil || k < 1 || k > 20 {
				return fmt.Errorf("%q is not a number of imps in 1-20", s)
			}
			return nil
		})
	} else {
		t.ImpsPerRequest = []Share{{Value: "1", Weight: 1}}
	}
	if v, ok := f["floor"]; ok {
		t.Floor = c.lognormal(w, "floor", v, "median_cpm")
	}
}

// shares reads a distribution: values checked by check, weights >= 0 summing to 1.
func (c *checker) shares(w, path string, n *yaml.Node, check func(string) error) []Share {
	if n == nil {
		return nil
	}
	entries, ok := c.mapping(w, path, n)
	if !ok {
		return nil
	}
	if len(entries) == 0 {
		c.errorf(w, path, n, "must list at least one value")
		return nil
	}
	out := make([]Share, 0, len(entries))
	sum := 0.0
	bad := false
	for _, e := range entries {
		if err := check(e.key); err != nil {
			c.errorf(w, join(path, e.key), e.keyN, "%v", err)
			bad = true
			continue
		}
		x, ok := c.floatIn(w, join(path, e.key), e.value, 0, 1)
		if !ok {
			bad = true
			continue
		}
		sum += x
		out = append(out, Share{Value: e.key, Weight: x})
	}
	if bad {
		return nil
	}
	if math.Abs(sum-1) > shareTolerance {
		c.errorf(w, path, n, "shares sum to %.4g, want 1", sum)
		return nil
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// lognormal reads {MEDIAN_KEY: >0, sigma: >=0}.
func (c *checker) lognormal(w, path string, n *yaml.Node, medianKey string) Lognormal {
	var l Lognormal
	f := c.fields(w, path, n, medianKey, "sigma")
	if f == nil {
		return l
	}
	if v, ok := f[medianKey]; ok {
		l.MedianCPM, _ = c.positive(w, join(path, medianKey), v)
	} else {
		c.errorf(w, join(path, medianKey), n, "missing")
	}
	if v, ok := f["sigma"]; ok {
		if s, ok := c.nonNegative(w, join(path, "sigma"), v); ok {
			if s > 10 {
				c.errorf(w, join(path, "sigma"), v, "%g is too large (at most 10)", s)
			} else {
				l.Sigma = s
			}
		}
	} else {
		c.errorf(w, join(path, "sigma"), n, "missing")
	}
	return l
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (c *checker) dsps(n *yaml.Node) []*DSP {
	items, ok := c.sequence("profiles", "dsps", n)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		c.errorf("profiles", "dsps", n, "must list at least one DSP")
	}
	seen := map[string]int{}
	var out []*DSP
	for i, item := range items {
		d := c.dsp(i, item)
		if d == nil {
			continue
		}
		if j, dup := seen[d.Name]; dup {
			c.errorf(fmt.Sprintf("dsp %q", d.Name), "name", item, "duplicate of dsps[%d]", j)
			continue
		}
		seen[d.Name] = i
		out = append(out, d)
	}
	return out
}

func (c *checker) dsp(i int, n *yaml.Node) *DSP {
	w := fmt.Sprintf("dsps[%d]", i)
	entries, ok := c.mapping(w, "", n)
	if !ok {
		return nil
	}
	d := &DSP{}
	for _, e := range entries {
		if e.key != "name" {
			continue
		}
		if s, ok := c.scalar(w, "name", e.value); ok {
			if nameRE.MatchString(s) {
				d.Name = s
				w = fmt.Sprintf("dsp %q", s)
			} else {
				c.errorf(w, "name", e.value, "%q must be 1-64 letters, digits, '_', '.' or '-'", s)
			}
		}
	}
	before := len(c.errs)
	f := c.fields(w, "", n, "name", "latency_ms", "timeout_rate", "error_rate", "qps_limit",
		"intent", "require", "pacing", "price")
	if f == nil {
		return nil
	}
	if _, ok := f["name"]; !ok {
		c.errorf(w, "name", n, "missing")
	}
	if v, ok := f["latency_ms"]; ok {
		lf := c.fields(w, "latency_ms", v, "median", "p99")
		med, ok1 := c.positive(w, "latency_ms.median", lf["median"])
		p99, ok2 := c.positive(w, "latency_ms.p99", lf["p99"])
		if ok1 && ok2 {
			if p99 < med {
				c.errorf(w, "latency_ms.p99", lf["p99"], "%g is below the median %g", p99, med)
			}
			d.LatencyMedianMS, d.LatencyP99MS = med, p99
		}
	}
	if v, ok := f["timeout_rate"]; ok {
		d.TimeoutRate, _ = c.floatIn(w, "timeout_rate", v, 0, 1)
	}
	if v, ok := f["error_rate"]; ok {
		d.ErrorRate, _ = c.floatIn(w, "error_rate", v, 0, 1)
	}
	if d.TimeoutRate+d.ErrorRate > 1 {
		c.errorf(w, "error_rate", f["error_rate"], "timeout_rate + error_rate is %.4g, more than 1", d.TimeoutRate+d.ErrorRate)
	}
	if v, ok := f["qps_limit"]; ok {
		if q, ok := c.integer(w, "qps_limit", v, 0, 100_000_000); ok {
			d.QPSLimit = int(q)
		}
	}
	if v, ok := f["intent"]; ok {
		c.intent(w, v, d)
	}
	if v, ok := f["require"]; ok {
		c.require(w, v, d)
	}
	for h := range d.pacing {
		d.pacing[h] = 1
	}
	if v, ok := f["pacing"]; ok {
		c.pacing(w, v, d)
	}
	if v, ok := f["price"]; ok {
		l := c.lognormal(w, "price", v, "median_cpm")
		d.PriceMedianCPM, d.PriceSigma = l.MedianCPM, l.Sigma
	} else {
		c.errorf(w, "price", n, "missing")
	}
	if len(c.errs) > before || d.Name == "" {
		return nil
	}
	if d.LatencyMedianMS > 0 {
		d.latMu = math.Log(d.LatencyMedianMS)
		d.latSigma = math.Log(d.LatencyP99MS/d.LatencyMedianMS) / z99
	}
	d.priceMu = math.Log(d.PriceMedianCPM)
	d.nameHash = rnd.String(rnd.Hash(0), d.Name)
	return d
}

// z99 is the 99th percentile of the standard normal distribution.
const z99 = 2.3263478740408408

func (c *checker) intent(w string, n *yaml.Node, d *DSP) {
	allowed := append([]string{"intercept", "affinity", "interactions"}, featureNames[:]...)
	f := c.fields(w, "intent", n, allowed...)
	if v, ok := f["intercept"]; ok {
		d.intercept, _ = c.float(w, "intent.intercept", v)
	}
	for _, name := range featureNames {
		v, ok := f[name]
		if !ok {
			continue
		}
		feat, _ := featureByName(name)
		c.term(w, "intent."+name, feat, v, d)
	}
	if v, ok := f["affinity"]; ok {
		items, _ := c.sequence(w, "intent.affinity", v)
		for i, item := range items {
			c.affinity(w, fmt.Sprintf("intent.affinity[%d]", i), item, d)
		}
	}
	if v, ok := f["interactions"]; ok {
		items, _ := c.sequence(w, "intent.interactions", v)
		for i, item := range items {
			c.interaction(w, fmt.Sprintf("intent.interactions[%d]", i), item, d)
		}
	}
}

// term reads one feature's intent map: value -> logit term, "*" for the values not listed.
func (c *checker) term(w, path string, f Feature, n *yaml.Node, d *DSP) {
	entries, ok := c.mapping(w, path, n)
	if !ok {
		return
	}
	star := 0.0
	var values map[string]float64
	var hours hourTable
	var uid [2]float64
	var uidSet [2]bool
	for _, e := range entries {
		p := join(path, e.key)
		x, ok := c.float(w, p, e.value)
		if !ok {
			continue
		}
		if e.key == "*" {
			star = x
			continue
		}
		switch f {
		case HourUTC:
			if err := hours.set(e.key, x); err != nil {
				c.errorf(w, p, e.keyN, "%v", err)
			}
		case UserID:
			b, err := strconv.ParseBool(e.key)
			if err != nil {
				c.errorf(w, p, e.keyN, "%q is not true or false", e.key)
				continue
			}
			uid[b2i(b)], uidSet[b2i(b)] = x, true
		default:
			if err := checkValue(f, e.key); err != nil {
				c.errorf(w, p, e.keyN, "%v", err)
				continue
			}
			if values == nil {
				values = map[string]float64{}
			}
			values[e.key] = x
		}
	}
	switch f {
	case HourUTC:
		hours.fill(star)
		d.hour = &hours.v
	case UserID:
		for i := range uid {
			if !uidSet[i] {
				uid[i] = star
			}
		}
		d.userID = &uid
	default:
		d.terms = append(d.terms, term{f: f, values: values, star: star})
	}
}

func (c *checker) affinity(w, path string, n *yaml.Node, d *DSP) {
	f := c.fields(w, path, n, "feature", "share", "boost", "seed")
	if f == nil {
		return
	}
	for _, k := range []string{"feature", "share", "boost"} {
		if _, ok := f[k]; !ok {
			c.errorf(w, join(path, k), n, "missing")
		}
	}
	var af affinity
	ok := true
	if v, has := f["feature"]; has {
		s, _ := c.scalar(w, join(path, "feature"), v)
		feat, known := featureByName(s)
		if !known || feat >= numCategorical {
			c.errorf(w, join(path, "feature"), v, "%q is not a categorical feature (one of %v)", s, featureNames[:numCategorical])
			ok = false
		}
		af.f = feat
	}
	if v, has := f["share"]; has {
		var good bool
		af.share, good = c.floatIn(w, join(path, "share"), v, 0, 1)
		ok = ok && good
	}
	if v, has := f["boost"]; has {
		var good bool
		af.boost, good = c.float(w, join(path, "boost"), v)
		ok = ok && good
	}
	var seed int64
	if v, has := f["seed"]; has {
		var good bool
		seed, good = c.integer(w, join(path, "seed"), v, math.MinInt64, math.MaxInt64)
		ok = ok && good
	}
	if !ok {
		return
	}
	af.base = rnd.String(rnd.Uint64(rnd.Hash(0), uint64(seed)), af.f.String())
	d.affinities = append(d.affinities, af)
}

func (c *checker) interaction(w, path string, n *yaml.Node, d *DSP) {
	f := c.fields(w, path, n, "if", "add")
	if f == nil {
		return
	}
	var in interaction
	ok := true
	if v, has := f["if"]; has {
		entries, good := c.mapping(w, join(path, "if"), v)
		if good && len(entries) == 0 {
			c.errorf(w, join(path, "if"), v, "must name at least one feature")
			good = false
		}
		ok = ok && good
		for _, e := range entries {
			m, good := c.match(w, join(path, "if."+e.key), e.key, e.keyN, []*yaml.Node{e.value})
			ok = ok && good
			in.conds = append(in.conds, m)
		}
	} else {
		c.errorf(w, join(path, "if"), n, "missing")
		ok = false
	}
	if v, has := f["add"]; has {
		var good bool
		in.add, good = c.float(w, join(path, "add"), v)
		ok = ok && good
	} else {
		c.errorf(w, join(path, "add"), n, "missing")
		ok = false
	}
	if ok {
		d.interactions = append(d.interactions, in)
	}
}

// match reads a condition on the named feature: one of the given values.
func (c *checker) match(w, path, name string, keyN *yaml.Node, values []*yaml.Node) (match, bool) {
	f, known := featureByName(name)
	if !known {
		c.errorf(w, path, keyN, "unknown feature (one of %v)", featureNames)
		return match{}, false
	}
	m := match{f: f}
	ok := true
	for _, v := range values {
		s, good := c.scalar(w, path, v)
		if !good {
			ok = false
			continue
		}
		switch f {
		case HourUTC:
			hs, err := parseHours(s)
			if err != nil {
				c.errorf(w, path, v, "%v", err)
				ok = false
				continue
			}
			for h, in := range hs {
				m.hours[h] = m.hours[h] || in
			}
		case UserID:
			b, err := strconv.ParseBool(s)
			if err != nil {
				c.errorf(w, path, v, "%q is not true or false", s)
				ok = false
				continue
			}
			m.uid[b2i(b)] = true
		default:
			if err := checkValue(f, s); err != nil {
				c.errorf(w, path, v, "%v", err)
				ok = false
				continue
			}
			if m.values == nil {
				m.values = map[string]bool{}
			}
			m.values[s] = true
		}
	}
	return m, ok
}

func (c *checker) require(w string, n *yaml.Node, d *DSP) {
	entries, ok := c.mapping(w, "require", n)
	if !ok {
		return
	}
	for _, e := range entries {
		path := "require." + e.key
		items, good := c.sequence(w, path, e.value)
		if !good {
			continue
		}
		if len(items) == 0 {
			c.errorf(w, path, e.value, "empty list: the DSP would never bid")
			continue
		}
		if m, good := c.match(w, path, e.key, e.keyN, items); good {
			d.require = append(d.require, m)
		}
	}
}

func (c *checker) pacing(w string, n *yaml.Node, d *DSP) {
	f := c.fields(w, "pacing", n, "hour_utc")
	v, ok := f["hour_utc"]
	if !ok {
		return
	}
	entries, ok := c.mapping(w, "pacing.hour_utc", v)
	if !ok {
		return
	}
	var t hourTable
	star := 1.0
	for _, e := range entries {
		p := "pacing.hour_utc." + e.key
		x, ok := c.floatIn(w, p, e.value, 0, 1)
		if !ok {
			continue
		}
		if e.key == "*" {
			star = x
			continue
		}
		if err := t.set(e.key, x); err != nil {
			c.errorf(w, p, e.keyN, "%v", err)
		}
	}
	t.fill(star)
	d.pacing = t.v
}
