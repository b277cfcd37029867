package features

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prebid/openrtb/v19/adcom1"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// DefaultTMaxMS is the tmax recorded for a request that does not set one.
const DefaultTMaxMS = 200

// Raw holds the features of one (request, imp) pair exactly as they are written to the
// bid log (docs/DESIGN.md, "Bid log"): each field is a bid-log column, named by its parquet tag,
// and bidlog.Row embeds Raw, so that the log's feature columns are these fields in this
// order. The model inputs are computed from them as DefaultDefs declares. Strings are
// normalised (lower case where the source is free text) and empty when the request does
// not carry the field; the model's vocabularies treat the empty string as a value of its
// own.
//
// The DSP is not part of Raw: the same Raw is shared by every DSP an imp is offered to.
type Raw struct {
	Country    string  `parquet:"country,dict"`     // device.geo.country (else user.geo.country), upper-case ISO alpha-3
	Region     string  `parquet:"region,dict"`      // device.geo.region (else user.geo.region), upper-case
	DeviceType string  `parquet:"device_type,dict"` // phone, tablet, desktop, ctv or other
	OS         string  `parquet:"os,dict"`          // android, ios, windows, macos or other
	Browser    string  `parquet:"browser,dict"`     // from device.ua: chrome, safari, firefox, edge, samsung, opera, app or other; "" without a UA
	Connection string  `parquet:"connection,dict"`  // ethernet, wifi, cell, 2g, 3g, 4g, 5g or "" when unknown
	Channel    string  `parquet:"channel,dict"`     // site, app, dooh or ""
	Domain     string  `parquet:"domain,dict"`      // site.domain (else the host of site.page) or app.bundle, lower case, without "www."
	Publisher  string  `parquet:"publisher,dict"`   // site/app publisher.id
	Category   string  `parquet:"category,dict"`    // first IAB category of the site or app (cat, else sectioncat/pagecat)
	Format     string  `parquet:"format,dict"`      // WxH of the first banner format, else video, native or audio
	Position   string  `parquet:"position,dict"`    // banner.pos or video.pos as a decimal string, "" when absent
	UserID     bool    `parquet:"user_id"`          // user.id, user.buyeruid or device.ifa present
	FloorCPM   float64 `parquet:"floor_cpm"`        // imp.bidfloor in the base currency (CPM)
	HourUTC    int32   `parquet:"hour_utc"`         // UTC hour at which the request is handled, 0-23
	DayOfWeek  int32   `parquet:"day_of_week"`      // UTC day of the week, 0 = Sunday
	ImpCount   int32   `parquet:"imp_count"`        // number of imps in the request
	TMaxMS     int32   `parquet:"tmax_ms"`          // request tmax in ms, DefaultTMaxMS when absent (at most math.MaxInt32)
}

// Converter converts an amount in the given currency into the base currency. It reports
// false for a currency it does not know. A nil Converter treats every amount as already
// being in the base currency.
type Converter func(amount float64, currency string) (float64, bool)

// Extract computes the raw features of one imp of a request handled at time now. It never
// fails: missing fields give empty values. imp must point into req.Imp or be a copy of one
// of its elements. An unknown floor currency gives FloorCPM = the floor as sent; the
// gateway refuses such requests before they reach here.
func Extract(req *openrtb2.BidRequest, imp *openrtb2.Imp, now time.Time, conv Converter) Raw {
	var r Raw
	now = now.UTC()
	r.HourUTC = int32(now.Hour())
	r.DayOfWeek = int32(now.Weekday())
	r.ImpCount = int32(min(len(req.Imp), math.MaxInt32))
	r.TMaxMS = int32(min(max(req.TMax, 0), math.MaxInt32))
	if r.TMaxMS <= 0 {
		r.TMaxMS = DefaultTMaxMS
	}

	if d := req.Device; d != nil {
		if d.Geo != nil {
			r.Country = strings.ToUpper(strings.TrimSpace(d.Geo.Country))
			r.Region = strings.ToUpper(strings.TrimSpace(d.Geo.Region))
		}
		r.DeviceType = DeviceTypeName(d.DeviceType)
		r.OS = OSName(d.OS)
		r.Browser = BrowserName(d.UA)
		if d.ConnectionType != nil {
			r.Connection = connectionName(*d.ConnectionType)
		}
	} else {
		r.DeviceType = DeviceTypeName(0)
		r.OS = OSName("")
	}
	r.UserID = HasUserID(req)
	if u := req.User; u != nil {
		if u.Geo != nil {
			if r.Country == "" {
				r.Country = strings.ToUpper(strings.TrimSpace(u.Geo.Country))
			}
			if r.Region == "" {
				r.Region = strings.ToUpper(strings.TrimSpace(u.Geo.Region))
			}
		}
	}

	switch {
	case req.Site != nil:
		s := req.Site
		r.Channel = "site"
		r.Domain = normDomain(s.Domain)
		if r.Domain == "" && s.Page != "" {
			if u, err := url.Parse(s.Page); err == nil {
				r.Domain = normDomain(u.Hostname())
			}
		}
		if s.Publisher != nil {
			r.Publisher = s.Publisher.ID
		}
		r.Category = firstCategory(s.Cat, s.SectionCat, s.PageCat)
	case req.App != nil:
		a := req.App
		r.Channel = "app"
		r.Domain = strings.ToLower(strings.TrimSpace(a.Bundle))
		if a.Publisher != nil {
			r.Publisher = a.Publisher.ID
		}
		r.Category = firstCategory(a.Cat, a.SectionCat, a.PageCat)
	case req.DOOH != nil:
		r.Channel = "dooh"
		r.Domain = normDomain(req.DOOH.Domain)
		if req.DOOH.Publisher != nil {
			r.Publisher = req.DOOH.Publisher.ID
		}
	}

	r.Format = FormatName(imp)
	switch {
	case imp.Banner != nil && imp.Banner.Pos != nil:
		r.Position = strconv.Itoa(int(*imp.Banner.Pos))
	case imp.Video != nil && imp.Video.Pos != nil:
		r.Position = strconv.Itoa(int(*imp.Video.Pos))
	}

	r.FloorCPM = imp.BidFloor
	if conv != nil && imp.BidFloor > 0 {
		cur := imp.BidFloorCur
		if cur == "" {
			cur = "USD"
		}
		if v, ok := conv(imp.BidFloor, cur); ok {
			r.FloorCPM = v
		}
	}
	if math.IsNaN(r.FloorCPM) || r.FloorCPM < 0 {
		r.FloorCPM = 0
	}
	return r
}

// HasUserID is the user_id feature of a request: user.id, user.buyeruid or device.ifa
// is present. The gateway reads it again on the request a DSP is sent, where privacy
// rules removed ids (package privacy), so that the feature describes what the DSP saw.
func HasUserID(req *openrtb2.BidRequest) bool {
	return req.Device != nil && req.Device.IFA != "" || req.User != nil && (req.User.ID != "" || req.User.BuyerUID != "")
}

// DeviceTypeName maps an OpenRTB device type to phone, tablet, desktop, ctv or other.
// The general "mobile/tablet" code counts as a phone.
func DeviceTypeName(t adcom1.DeviceType) string {
	switch t {
	case adcom1.DevicePhone, adcom1.DeviceMobile:
		return "phone"
	case adcom1.DeviceTablet:
		return "tablet"
	case adcom1.DevicePC:
		return "desktop"
	case adcom1.DeviceTV, adcom1.DeviceSetTopBox:
		return "ctv"
	default:
		return "other"
	}
}

// OSName maps device.os to android, ios, windows, macos or other.
func OSName(os string) string {
	s := strings.ToLower(strings.TrimSpace(os))
	switch {
	case s == "":
		return "other"
	case strings.Contains(s, "android"):
		return "android"
	case s == "ios" || strings.Contains(s, "iphone") || strings.Contains(s, "ipados") || strings.HasPrefix(s, "ios"):
		return "ios"
	case strings.Contains(s, "windows"):
		return "windows"
	case strings.Contains(s, "mac") || strings.Contains(s, "os x"):
		return "macos"
	default:
		return "other"
	}
}

// BrowserName classifies a user agent. The order of the checks matters: Edge, Opera and
// Samsung Internet also announce Chrome, and Chrome announces Safari.
func BrowserName(ua string) string {
	if ua == "" {
		return ""
	}
	s := strings.ToLower(ua)
	switch {
	case strings.Contains(s, "edg/") || strings.Contains(s, "edge/"):
		return "edge"
	case strings.Contains(s, "opr/") || strings.Contains(s, "opera"):
		return "opera"
	case strings.Contains(s, "samsungbrowser"):
		return "samsung"
	case strings.Contains(s, "; wv)") || strings.Contains(s, "dalvik") || strings.Contains(s, "cfnetwork"):
		return "app"
	case strings.Contains(s, "firefox/") || strings.Contains(s, "fxios/"):
		return "firefox"
	case strings.Contains(s, "chrome/") || strings.Contains(s, "crios/"):
		return "chrome"
	case strings.Contains(s, "safari/"):
		return "safari"
	case strings.Contains(s, "mobile/") && (strings.Contains(s, "iphone") || strings.Contains(s, "ipad")):
		return "app" // iOS web view: WebKit without a Safari token
	default:
		return "other"
	}
}

// FormatName is `WxH` of the first banner format (or the banner's w and h), else video,
// native, audio, or "" for an imp without a media object.
func FormatName(imp *openrtb2.Imp) string {
	if b := imp.Banner; b != nil {
		if len(b.Format) > 0 {
			return strconv.FormatInt(b.Format[0].W, 10) + "x" + strconv.FormatInt(b.Format[0].H, 10)
		}
		if b.W != nil && b.H != nil {
			return strconv.FormatInt(*b.W, 10) + "x" + strconv.FormatInt(*b.H, 10)
		}
		return "banner"
	}
	switch {
	case imp.Video != nil:
		return "video"
	case imp.Native != nil:
		return "native"
	case imp.Audio != nil:
		return "audio"
	}
	return ""
}

func connectionName(c adcom1.ConnectionType) string {
	switch c {
	case 1:
		return "ethernet"
	case 2:
		return "wifi"
	case 3:
		return "cell"
	case 4:
		return "2g"
	case 5:
		return "3g"
	case 6:
		return "4g"
	case 7:
		return "5g"
	default:
		return ""
	}
}

func normDomain(d string) string {
	d = strings.ToLower(strings.TrimSpace(d))
	return strings.TrimPrefix(d, "www.")
}

func firstCategory(lists ...[]string) string {
	for _, l := range lists {
		for _, c := range l {
			if c = strings.TrimSpace(c); c != "" {
				return c
			}
		}
	}
	return ""
}
