package gateway

import (
	"strconv"
	"strings"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/features"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// targeting is a DSP's static targeting, prepared for matching without allocating.
type targeting struct {
	sizes                      [][2]int64 // banner sizes WxH
	banner, video, native, aud bool       // whole media types
	anyFormat                  bool       // no format listed: every imp matches
	channels, countries        []string
}

func newTargeting(t config.Targeting) targeting {
	tg := targeting{anyFormat: len(t.Formats) == 0, channels: t.Channels, countries: t.Countries}
	for _, f := range t.Formats {
		switch f {
		case "banner":
			tg.banner = true
		case "video":
			tg.video = true
		case "native":
			tg.native = true
		case "audio":
			tg.aud = true
		default:
			ws, hs, _ := strings.Cut(f, "x")
			w, _ := strconv.ParseInt(ws, 10, 64)
			h, _ := strconv.ParseInt(hs, 10, 64)
			tg.sizes = append(tg.sizes, [2]int64{w, h})
		}
	}
	return tg
}

// matchesRequest applies the request-level terms, channel and country, to the features of
// the request (those of any of its imps: both are the request's), so that targeting sees
// the values the model and the bid log see.
func (t *targeting) matchesRequest(f *features.Raw) bool {
	if len(t.channels) > 0 && !containsFold(t.channels, f.Channel) {
		return false
	}
	if len(t.countries) > 0 && !containsFold(t.countries, f.Country) {
		return false
	}
	return true
}

// matchesImp reports whether the DSP buys any of the imp's media: a listed media type, or
// a listed banner size among the banner's formats (or its w and h).
func (t *targeting) matchesImp(imp *openrtb2.Imp) bool {
	if t.anyFormat {
		return true
	}
	if b := imp.Banner; b != nil {
		if t.banner {
			return true
		}
		for _, s := range t.sizes {
			for _, f := range b.Format {
				if f.W == s[0] && f.H == s[1] {
					return true
				}
			}
			if b.W != nil && b.H != nil && *b.W == s[0] && *b.H == s[1] {
				return true
			}
		}
	}
	return (t.video && imp.Video != nil) || (t.native && imp.Native != nil) || (t.aud && imp.Audio != nil)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
