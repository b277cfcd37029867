package traffic

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/rnd"
	"github.com/prebid/openrtb/v19/adcom1"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// Generator draws bid requests from a traffic description. The publisher universe
// depends on the traffic's seed alone; the requests drawn on the seed given to New.
// A Generator is not safe for concurrent use: give each goroutine its own (with its own
// seed), they share nothing.
type Generator struct {
	t      sim.Traffic
	pubs   []Publisher
	pubCum []float64

	countries, devices, oss, imps []float64
	r                             rnd.Stream
}

// New returns a generator of the traffic t whose requests are drawn from seed.
func New(t sim.Traffic, seed uint64) *Generator {
	pubs, cum := buildUniverse(&t)
	g := &Generator{
		t: t, pubs: pubs, pubCum: cum,
		countries: cumulative(t.Country),
		devices:   cumulative(t.DeviceType),
		oss:       cumulative(t.OS),
		imps:      cumulative(t.ImpsPerRequest),
		r:         rnd.New(rnd.Uint64(rnd.Hash(0x72657173), seed)), // "reqs"
	}
	if len(g.imps) == 0 {
		g.imps = []float64{1}
		g.t.ImpsPerRequest = []sim.Share{{Value: "1", Weight: 1}}
	}
	return g
}

// Publishers returns the publisher universe, by decreasing volume. The slice is shared:
// do not modify it.
func (g *Generator) Publishers() []Publisher { return g.pubs }

// Next draws a new request: valid OpenRTB 2.5, a unique id, one to a few imps with
// unique ids ("1", "2", ...) each with one media object, floors in USD. The request is
// freshly allocated and belongs to the caller.
func (g *Generator) Next() *openrtb2.BidRequest {
	r := &g.r
	p := &g.pubs[r.Pick(g.pubCum)]

	country := p.Country
	if r.Float64() >= p.HomeShare {
		country = g.t.Country[r.Pick(g.countries)].Value
	}
	devType := p.DeviceType
	if r.Float64() >= p.DeviceShare {
		devType = g.t.DeviceType[r.Pick(g.devices)].Value
		if p.App && devType == "desktop" {
			devType = p.DeviceType
		}
	}
	osName := g.drawOS(devType)

	req := &openrtb2.BidRequest{
		ID:   g.hexID(),
		AT:   2,
		TMax: p.TMaxMS,
		Cur:  []string{"USD"},
	}
	userID := r.Float64() < g.t.UserIDRate
	osv := osVersion(r, osName)
	dev := &openrtb2.Device{
		UA:         userAgent(r, osName, osv, devType, p.App),
		IP:         ipOf(r),
		DeviceType: deviceTypeCode(devType),
		OS:         osLabel[osName],
		OSV:        osv,
		Geo: &openrtb2.Geo{
			Country: country,
			Region:  regionOf(r, p, country),
			Type:    adcom1.LocationIP,
		},
		Language:       "en",
		ConnectionType: connection(r, devType),
	}
	if devType == "phone" || devType == "tablet" {
		dev.Make, dev.Model = deviceModel(r, osName, devType)
	}
	req.Device = dev
	pub := &openrtb2.Publisher{ID: p.ID, Name: p.Name}
	if p.App {
		req.App = &openrtb2.App{
			ID: p.siteID, Name: p.Name, Bundle: p.Domain,
			StoreURL:  storeURL(osName, p.Domain),
			Cat:       []string{p.Category},
			Publisher: pub,
		}
		if userID {
			dev.IFA = g.uuid()
		}
	} else {
		req.Site = &openrtb2.Site{
			ID: p.siteID, Name: p.Name, Domain: p.Domain,
			Page:      "https://" + p.Domain + "/" + pagePaths[r.IntN(len(pagePaths))],
			Cat:       []string{p.Category},
			Publisher: pub,
		}
		if userID {
			req.User = &openrtb2.User{ID: g.hexID()}
		}
	}

	n := 1
	if len(g.imps) > 0 {
		n, _ = strconv.Atoi(g.t.ImpsPerRequest[r.Pick(g.imps)].Value)
	}
	req.Imp = make([]openrtb2.Imp, n)
	for i := range req.Imp {
		g.fillImp(&req.Imp[i], i, p)
	}
	return req
}

func (g *Generator) fillImp(imp *openrtb2.Imp, i int, p *Publisher) {
	r := &g.r
	imp.ID = strconv.Itoa(i + 1)
	imp.TagID = p.siteID + "-" + imp.ID
	imp.Secure = ptr(int8(1))
	imp.BidFloorCur = "USD"
	if f := g.t.Floor; f.MedianCPM > 0 {
		floor := p.FloorFactor * f.MedianCPM * math.Exp(f.Sigma*r.Norm())
		imp.BidFloor = max(0.01, math.Round(floor*100)/100)
	}
	format := p.Formats[r.Pick(p.formatCum)]
	pos := positions[r.IntN(len(positions))]
	switch format {
	case "video":
		imp.Video = &openrtb2.Video{
			MIMEs:       []string{"video/mp4", "video/webm"},
			MinDuration: 5, MaxDuration: 30,
			Protocols: []adcom1.MediaCreativeSubtype{2, 3, 5, 6},
			W:         640, H: 360,
			Linearity: adcom1.LinearityLinear,
			Plcmt:     adcom1.VideoPlcmtInstream,
			Pos:       pos,
		}
	case "native":
		imp.Native = &openrtb2.Native{Request: nativeRequest, Ver: "1.2"}
	case "audio":
		imp.Audio = &openrtb2.Audio{MIMEs: []string{"audio/mp4", "audio/mpeg"}, MinDuration: 5, MaxDuration: 30}
	default:
		w, h, _ := strings.Cut(format, "x")
		wi, _ := strconv.ParseInt(w, 10, 64)
		hi, _ := strconv.ParseInt(h, 10, 64)
		imp.Banner = &openrtb2.Banner{
			Format: []openrtb2.Format{{W: wi, H: hi}},
			W:      ptr(wi), H: ptr(hi),
			Pos: pos,
		}
	}
}

// drawOS draws an OS that can run on the device type, following the traffic's shares
// among the compatible ones (phones run Android or iOS, desktops Windows, macOS or
// others, ...). With no compatible OS in the shares, it follows the shares as they are.
func (g *Generator) drawOS(devType string) string {
	compat := osCompat[devType]
	cum := make([]float64, 0, 8)
	vals := make([]string, 0, 8)
	acc := 0.0
	for _, s := range g.t.OS {
		for _, c := range compat {
			if c == s.Value && s.Weight > 0 {
				acc += s.Weight
				cum = append(cum, acc)
				vals = append(vals, s.Value)
			}
		}
	}
	if acc == 0 {
		return g.t.OS[g.r.Pick(g.oss)].Value
	}
	return vals[g.r.Pick(cum)]
}

var osCompat = map[string][]string{
	"phone":   {"android", "ios"},
	"tablet":  {"android", "ios"},
	"desktop": {"windows", "macos", "other"},
	"ctv":     {"android", "other"},
	"other":   {"android", "other"},
}

var osLabel = map[string]string{
	"android": "Android", "ios": "iOS", "windows": "Windows", "macos": "macOS", "other": "Linux",
}

func deviceTypeCode(t string) adcom1.DeviceType {
	switch t {
	case "phone":
		return adcom1.DevicePhone
	case "tablet":
		return adcom1.DeviceTablet
	case "desktop":
		return adcom1.DevicePC
	case "ctv":
		return adcom1.DeviceTV
	}
	return adcom1.DeviceConnected
}

func (g *Generator) hexID() string {
	var b [16]byte
	putUint64(b[:8], g.r.Uint64())
	putUint64(b[8:], g.r.Uint64())
	return hex.EncodeToString(b[:])
}

func (g *Generator) uuid() string {
	s := g.hexID()
	return s[:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:]
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func ptr[T any](v T) *T { return &v }

var positions = []*adcom1.PlacementPosition{nil, ptr(adcom1.PositionAboveFold), ptr(adcom1.PositionBelowFold), ptr(adcom1.PositionAboveFold)}

var pagePaths = []string{"", "article/today", "home", "sport/results", "video/latest", "recipes/quick", "section/world"}

const nativeRequest = `{"ver":"1.2","context":1,"plcmttype":1,"plcmtcnt":1,"assets":[{"id":1,"required":1,"title":{"len":90}},{"id":2,"required":1,"img":{"type":3,"wmin":300,"hmin":157}},{"id":3,"data":{"type":2,"len":140}}]}`

func regionOf(r *rnd.Stream, p *Publisher, country string) string {
	regions := p.regions
	if country != p.Country {
		regions = regionsOf(country)
	}
	return regions[r.IntN(len(regions))]
}

func ipOf(r *rnd.Stream) string {
	v := r.Uint64()
	return strconv.Itoa(int(11+v%200)) + "." + strconv.Itoa(int(v>>8&0xff)) + "." +
		strconv.Itoa(int(v>>16&0xff)) + "." + strconv.Itoa(int(1+v>>24%254))
}

func connection(r *rnd.Stream, devType string) *adcom1.ConnectionType {
	var choices []adcom1.ConnectionType
	switch devType {
	case "phone", "tablet":
		choices = []adcom1.ConnectionType{adcom1.ConnectionWIFI, adcom1.Connection4G, adcom1.Connection4G, adcom1.Connection5G, adcom1.ConnectionWIFI}
	case "desktop":
		choices = []adcom1.ConnectionType{adcom1.ConnectionEthernet, adcom1.ConnectionWIFI}
	default:
		choices = []adcom1.ConnectionType{adcom1.ConnectionWIFI, adcom1.ConnectionEthernet}
	}
	c := choices[r.IntN(len(choices))]
	return &c
}

func storeURL(osName, bundle string) string {
	if osName == "ios" {
		return "https://apps.apple.com/app/" + bundle
	}
	return "https://play.google.com/store/apps/details?id=" + bundle
}
