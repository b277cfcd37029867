package traffic

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/internal/rnd"
)

// Publisher is one synthetic publisher: a site or an app with its own home country,
// dominant device type, a few ad formats and a floor factor.
type Publisher struct {
	ID          string   // publisher.id
	Name        string   // publisher.name
	App         bool     // an app (else a site)
	Domain      string   // site domain, or app bundle
	Category    string   // IAB category
	Country     string   // home country: most of its traffic comes from it
	HomeShare   float64  // share of its requests from the home country
	DeviceType  string   // dominant device type
	DeviceShare float64  // share of its requests from the dominant device type
	Formats     []string // the ad formats it sells
	FloorFactor float64  // multiplies the traffic's floor distribution
	TMaxMS      int64    // the tmax its requests carry
	Volume      float64  // its share of all requests (Zipf by rank)

	formatCum []float64 // cumulative weights of Formats
	siteID    string
	regions   []string
}

// publishers builds the universe from traffic.seed alone.
func buildUniverse(t *sim.Traffic) ([]Publisher, []float64) {
	r := rnd.New(rnd.Uint64(rnd.Hash(0x7075626c), uint64(t.Seed))) // "publ"
	countries := cumulative(t.Country)
	devices := cumulative(t.DeviceType)
	pubs := make([]Publisher, t.Publishers)
	zipf := make([]float64, t.Publishers)
	total := 0.0
	for i := range pubs {
		p := &pubs[i]
		p.ID = fmt.Sprintf("pub%05d", i+1)
		p.App = r.Float64() < t.AppShare
		adj, noun := adjectives[r.IntN(len(adjectives))], nouns[r.IntN(len(nouns))]
		p.Name = strings.ToUpper(adj[:1]) + adj[1:] + " " + strings.ToUpper(noun[:1]) + noun[1:]
		if p.App {
			p.Domain = fmt.Sprintf("com.%s%s.app%d", adj, noun, i+1)
		} else {
			p.Domain = fmt.Sprintf("%s%s%d.%s", adj, noun, i+1, tlds[r.IntN(len(tlds))])
		}
		p.siteID = strconv.FormatUint(r.Uint64()>>40, 36)
		p.Category = fmt.Sprintf("IAB%d", 1+r.IntN(26))
		p.Country = t.Country[r.Pick(countries)].Value
		p.HomeShare = 0.6 + 0.35*r.Float64()
		p.DeviceType = t.DeviceType[r.Pick(devices)].Value
		if p.App && p.DeviceType == "desktop" {
			// Apps live on phones, tablets and TVs: draw again, without desktop.
			p.DeviceType = t.DeviceType[r.Pick(without(t.DeviceType, "desktop"))].Value
		}
		p.DeviceShare = 0.5 + 0.4*r.Float64()
		p.Formats, p.formatCum = pickFormats(&r, t.Format)
		p.FloorFactor = math.Exp(0.5 * r.Norm())
		p.TMaxMS = tmaxChoices[r.IntN(len(tmaxChoices))]
		p.regions = regionsOf(p.Country)
		zipf[i] = math.Pow(float64(i+1), -t.ZipfS)
		total += zipf[i]
	}
	cum := make([]float64, len(pubs))
	acc := 0.0
	for i := range pubs {
		pubs[i].Volume = zipf[i] / total
		acc += zipf[i]
		cum[i] = acc
	}
	return pubs, cum
}

var tmaxChoices = []int64{150, 200, 200, 250, 300}

// pickFormats draws one to three distinct formats, weighted by the traffic's shares;
// the publisher then serves them in proportion to those shares.
func pickFormats(r *rnd.Stream, all []sim.Share) ([]string, []float64) {
	k := 1 + r.IntN(3)
	k = min(k, positive(all))
	weights := make([]float64, len(all))
	for i, s := range all {
		weights[i] = s.Weight
	}
	var formats []string
	var cum []float64
	acc := 0.0
	for range k {
		c := make([]float64, len(weights))
		sum := 0.0
		for i, w := range weights {
			sum += w
			c[i] = sum
		}
		i := r.Pick(c)
		formats = append(formats, all[i].Value)
		acc += weights[i]
		cum = append(cum, acc)
		weights[i] = 0
	}
	return formats, cum
}

func positive(all []sim.Share) int {
	n := 0
	for _, s := range all {
		if s.Weight > 0 {
			n++
		}
	}
	return n
}

// cumulative returns the running sums of the weights.
func cumulative(shares []sim.Share) []float64 {
	cum := make([]float64, len(shares))
	acc := 0.0
	for i, s := range shares {
		acc += s.Weight
		cum[i] = acc
	}
	return cum
}

// without returns cumulative weights with the named value's weight removed (all of
// them when that leaves nothing).
func without(shares []sim.Share, value string) []float64 {
	cum := make([]float64, len(shares))
	acc := 0.0
	for i, s := range shares {
		if s.Value != value {
			acc += s.Weight
		}
		cum[i] = acc
	}
	if acc == 0 {
		return cumulative(shares)
	}
	return cum
}

var (
	adjectives = []string{"daily", "urban", "bright", "swift", "green", "silver", "happy", "smart",
		"global", "local", "pixel", "retro", "cosmic", "quiet", "bold", "lucky", "golden", "rapid",
		"clever", "sunny", "prime", "royal", "wild", "true"}
	nouns = []string{"news", "games", "recipes", "sports", "weather", "travel", "finance", "music",
		"movies", "puzzle", "chess", "garden", "fitness", "style", "tech", "cars", "photos", "radio",
		"stories", "maps", "deals", "chat", "words", "cards"}
	tlds = []string{"com", "com", "com", "net", "org", "io", "co"}
)

// regionsOf gives a few synthetic region codes for a country.
func regionsOf(country string) []string {
	switch country {
	case "USA":
		return []string{"CA", "TX", "NY", "FL", "IL", "WA", "GA"}
	case "CAN":
		return []string{"ON", "QC", "BC", "AB"}
	case "GBR":
		return []string{"ENG", "SCT", "WLS", "NIR"}
	case "DEU":
		return []string{"BY", "BE", "NW", "HH"}
	}
	return []string{"01", "02", "03"}
}
