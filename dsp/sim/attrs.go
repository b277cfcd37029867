package sim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// Feature is a property of a (request, imp) that profiles can name (docs/DESIGN.md,
// "Simulator profiles").
type Feature int

// The features profiles name. The categorical ones come first.
const (
	Country Feature = iota
	DeviceType
	OS
	Format
	Channel
	Domain
	Publisher
	HourUTC // UTC hour, 0-23; profiles write ranges "a-b"
	UserID  // true when the request carries a user id or an IFA

	numCategorical = HourUTC
)

var featureNames = [...]string{"country", "device_type", "os", "format", "channel", "domain", "publisher", "hour_utc", "user_id"}

func (f Feature) String() string {
	if f >= 0 && int(f) < len(featureNames) {
		return featureNames[f]
	}
	return "feature(" + strconv.Itoa(int(f)) + ")"
}

func featureByName(s string) (Feature, bool) {
	for i, n := range featureNames {
		if n == s {
			return Feature(i), true
		}
	}
	return 0, false
}

var (
	deviceTypes = []string{"phone", "tablet", "desktop", "ctv", "other"}
	osNames     = []string{"android", "ios", "windows", "macos", "other"}
	channels    = []string{"site", "app", "dooh"}
	countryRE   = regexp.MustCompile(`^[A-Z]{3}$`)
	sizeRE      = regexp.MustCompile(`^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$`)
)

// checkValue says what is wrong with v as a value of the categorical feature f, so that
// a profile cannot name a value the simulator never produces (a typo would silently be
// a dead term).
func checkValue(f Feature, v string) error {
	oneOf := func(list []string) error {
		for _, s := range list {
			if s == v {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(list, ", "))
	}
	switch f {
	case Country:
		if !countryRE.MatchString(v) {
			return fmt.Errorf("%q is not an upper-case ISO alpha-3 country code", v)
		}
	case DeviceType:
		return oneOf(deviceTypes)
	case OS:
		return oneOf(osNames)
	case Format:
		if !sizeRE.MatchString(v) && v != "video" && v != "native" && v != "audio" {
			return fmt.Errorf("%q is not WxH, video, native or audio", v)
		}
	case Channel:
		return oneOf(channels)
	case Domain, Publisher:
		if v == "" {
			return fmt.Errorf("empty %s", f)
		}
	}
	return nil
}

// Attrs are the values of the profile features for one imp of a request, read by the
// simulator from the raw OpenRTB fields with its own parser (not the gateway's feature
// extractor, which the model must not share with the behaviour it learns).
type Attrs struct {
	Country    string  // device.geo.country, else user.geo.country, upper case
	DeviceType string  // phone, tablet, desktop, ctv or other, from device.devicetype
	OS         string  // android, ios, windows, macos or other, from device.os
	Format     string  // WxH of the first banner format, else video, native or audio
	Channel    string  // site, app or dooh
	Domain     string  // site.domain or app.bundle, lower case
	Publisher  string  // site/app publisher.id
	Hour       int     // UTC hour of handling, 0-23
	UserID     bool    // user.id, user.buyeruid or device.ifa present
	Floor      float64 // imp.bidfloor, CPM (the simulator takes floors as USD)
}

func (a *Attrs) value(f Feature) string {
	switch f {
	case Country:
		return a.Country
	case DeviceType:
		return a.DeviceType
	case OS:
		return a.OS
	case Format:
		return a.Format
	case Channel:
		return a.Channel
	case Domain:
		return a.Domain
	case Publisher:
		return a.Publisher
	case HourUTC:
		return strconv.Itoa(a.Hour)
	case UserID:
		return strconv.FormatBool(a.UserID)
	}
	return ""
}

// ParseAttrs reads the profile features of one imp of req handled at time now.
func ParseAttrs(req *openrtb2.BidRequest, imp *openrtb2.Imp, now time.Time) Attrs {
	var a Attrs
	a.Hour = now.UTC().Hour()
	a.DeviceType = "other"
	a.OS = "other"
	if d := req.Device; d != nil {
		if d.Geo != nil {
			a.Country = strings.ToUpper(strings.TrimSpace(d.Geo.Country))
		}
		switch d.DeviceType {
		case 1, 4: // mobile/tablet (general), phone
			a.DeviceType = "phone"
		case 5:
			a.DeviceType = "tablet"
		case 2:
			a.DeviceType = "desktop"
		case 3, 7: // connected TV, set-top box
			a.DeviceType = "ctv"
		}
		a.OS = osOf(d.OS)
		a.UserID = d.IFA != ""
	}
	if u := req.User; u != nil {
		a.UserID = a.UserID || u.ID != "" || u.BuyerUID != ""
		if a.Country == "" && u.Geo != nil {
			a.Country = strings.ToUpper(strings.TrimSpace(u.Geo.Country))
		}
	}
	switch {
	case req.Site != nil:
		a.Channel = "site"
		a.Domain = strings.TrimPrefix(strings.ToLower(req.Site.Domain), "www.")
		if req.Site.Publisher != nil {
			a.Publisher = req.Site.Publisher.ID
		}
	case req.App != nil:
		a.Channel = "app"
		a.Domain = strings.ToLower(req.App.Bundle)
		if req.App.Publisher != nil {
			a.Publisher = req.App.Publisher.ID
		}
	case req.DOOH != nil:
		a.Channel = "dooh"
		a.Domain = strings.ToLower(req.DOOH.Domain)
		if req.DOOH.Publisher != nil {
			a.Publisher = req.DOOH.Publisher.ID
		}
	}
	switch {
	case imp.Banner != nil:
		b := imp.Banner
		switch {
		case len(b.Format) > 0:
			a.Format = strconv.FormatInt(b.Format[0].W, 10) + "x" + strconv.FormatInt(b.Format[0].H, 10)
		case b.W != nil && b.H != nil:
			a.Format = strconv.FormatInt(*b.W, 10) + "x" + strconv.FormatInt(*b.H, 10)
		}
	case imp.Video != nil:
		a.Format = "video"
	case imp.Native != nil:
		a.Format = "native"
	case imp.Audio != nil:
		a.Format = "audio"
	}
	a.Floor = max(imp.BidFloor, 0)
	return a
}

func osOf(s string) string {
	s = strings.ToLower(s)
	switch {
	case strings.Contains(s, "android"):
		return "android"
	case strings.HasPrefix(s, "ios") || strings.Contains(s, "iphone") || strings.Contains(s, "ipad"):
		return "ios"
	case strings.Contains(s, "windows"):
		return "windows"
	case strings.Contains(s, "mac") || strings.Contains(s, "os x"):
		return "macos"
	}
	return "other"
}
