package traffic

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/rnd"
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

// buildUniverse builds the publishers, by decreasing volume, from traffic.seed alone,
// and returns them with the cumulative volumes.
//
// Home countries, dominant device types and main formats are drawn so that, weighted by
// volume, they follow the traffic's shares: with Zipf volumes a few publishers carry
// much of the traffic, and independent draws would let them skew the mix. Each publisher
// draws in proportion to how far each value is behind its share of the volume so far.
func buildUniverse(t *sim.Traffic) ([]Publisher, []float64) {
	r := rnd.New(rnd.Uint64(rnd.Hash(0x7075626c), uint64(t.Seed))) // "publ"
	pubs := make([]Publisher, t.Publishers)
	cum := make([]float64, t.Publishers)
	total := 0.0
	for i := range pubs {
		pubs[i].Volume = math.Pow(float64(i+1), -t.ZipfS)
		total += pubs[i].Volume
	}
	country := newBalancer(t.Country)
	device := newBalancer(t.DeviceType)
	format := newBalancer(t.Format)
	acc := 0.0
	for i := range pubs {
		p := &pubs[i]
		p.Volume /= total
		acc += p.Volume
		cum[i] = acc
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
		p.Country = country.pick(&r, p.Volume, "")
		p.HomeShare = 0.6 + 0.35*r.Float64()
		if p.App {
			// Apps live on phones, tablets and TVs.
			p.DeviceType = device.pick(&r, p.Volume, "desktop")
		} else {
			p.DeviceType = device.pick(&r, p.Volume, "")
		}
		p.DeviceShare = 0.5 + 0.4*r.Float64()
		p.Formats, p.formatCum = pickFormats(&r, t.Format, format.pick(&r, p.Volume, ""))
		p.FloorFactor = math.Exp(0.5 * r.Norm())
		p.TMaxMS = tmaxChoices[r.IntN(len(tmaxChoices))]
		p.regions = regionsOf(p.Country)
	}
	return pubs, cum
}

// balancer draws values so that the volume given to each stays close to its share.
type balancer struct {
	shares   []sim.Share
	assigned []float64
	volume   float64
	w        []float64
}

func newBalancer(shares []sim.Share) *balancer {
	return &balancer{shares: shares, assigned: make([]float64, len(shares)), w: make([]float64, len(shares))}
}

// pick draws a value for a publisher of volume vol, in proportion to each value's
// deficit once vol is added (never the excluded value, unless nothing else is left).
func (b *balancer) pick(r *rnd.Stream, vol float64, exclude string) string {
	b.volume += vol
	sum := 0.0
	for i, s := range b.shares {
		w := max(0, s.Weight*b.volume-b.assigned[i]) + 1e-9*s.Weight
		if s.Value == exclude {
			w = 0
		}
		sum += w
		b.w[i] = sum
	}
	i := 0
	if sum > 0 {
		i = r.Pick(b.w)
	} else {
		i = r.Pick(cumulative(b.shares))
	}
	b.assigned[i] += vol
	return b.shares[i].Value
}

var tmaxChoices = []int64{150, 200, 200, 250, 300}

// pickFormats gives a publisher its main format and up to two more, drawn by the
// traffic's shares. The main format carries most of its imps; the others share the rest
// in proportion to their traffic shares.
func pickFormats(r *rnd.Stream, all []sim.Share, main string) ([]string, []float64) {
	k := min(1+r.IntN(3), positive(all))
	weights := make([]float64, len(all))
	for i, s := range all {
		if s.Value != main {
			weights[i] = s.Weight
		}
	}
	formats := []string{main}
	cum := []float64{1}
	mainShare := 0.6 + 0.3*r.Float64()
	if k == 1 {
		return formats, cum
	}
	cum[0] = mainShare
	var extra []float64
	acc := 0.0
	for range k - 1 {
		c := make([]float64, len(weights))
		sum := 0.0
		for i, w := range weights {
			sum += w
			c[i] = sum
		}
		if sum == 0 {
			break
		}
		i := r.Pick(c)
		formats = append(formats, all[i].Value)
		acc += weights[i]
		extra = append(extra, acc)
		weights[i] = 0
	}
	for _, e := range extra {
		cum = append(cum, mainShare+(1-mainShare)*e/acc)
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
