package traffic

import (
	"strconv"
	"strings"

	"github.com/bidsieve/bidsieve/rnd"
)

// userAgent builds a plausible user agent for the OS, device type and channel: browsers
// on sites, web views in apps, TV platforms on connected TVs.
func userAgent(r *rnd.Stream, osName, osv, devType string, app bool) string {
	chrome := strconv.Itoa(118+r.IntN(8)) + ".0." + strconv.Itoa(5000+r.IntN(1000)) + "." + strconv.Itoa(r.IntN(200))
	switch osName {
	case "android":
		model := "SM-G99" + strconv.Itoa(r.IntN(10)) + "B"
		if devType == "ctv" || devType == "other" {
			return "Mozilla/5.0 (Linux; Android 11; BRAVIA 4K GB ATV3 Build/RP1A.201005.006; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/" + chrome + " Mobile Safari/537.36"
		}
		v := osv
		if app {
			return "Mozilla/5.0 (Linux; Android " + v + "; " + model + " Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/" + chrome + " Mobile Safari/537.36"
		}
		switch r.IntN(6) {
		case 0:
			return "Mozilla/5.0 (Linux; Android " + v + "; " + model + ") AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/" + chrome + " Mobile Safari/537.36"
		case 1:
			return "Mozilla/5.0 (Android " + v + "; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0"
		}
		return "Mozilla/5.0 (Linux; Android " + v + "; " + model + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Mobile Safari/537.36"
	case "ios":
		dev := "iPhone; CPU iPhone OS"
		if devType == "tablet" {
			dev = "iPad; CPU OS"
		}
		v := strings.ReplaceAll(osv, ".", "_")
		if app {
			return "Mozilla/5.0 (" + dev + " " + v + " like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
		}
		if r.IntN(5) == 0 {
			return "Mozilla/5.0 (" + dev + " " + v + " like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/" + chrome + " Mobile/15E148 Safari/604.1"
		}
		return "Mozilla/5.0 (" + dev + " " + v + " like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
	case "windows":
		switch r.IntN(8) {
		case 0, 1:
			return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36 Edg/" + chrome
		case 2:
			return "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
		case 3:
			return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36 OPR/105.0.0.0"
		}
		return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36"
	case "macos":
		if r.IntN(2) == 0 {
			return "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
		}
		return "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36"
	}
	if devType == "ctv" {
		return "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) Version/6.0 TV Safari/537.36"
	}
	return "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + chrome + " Safari/537.36"
}

func osVersion(r *rnd.Stream, osName string) string {
	switch osName {
	case "android":
		return strconv.Itoa(11 + r.IntN(4))
	case "ios":
		return strconv.Itoa(15+r.IntN(3)) + "." + strconv.Itoa(r.IntN(6))
	case "windows":
		return "10"
	case "macos":
		return "10.15.7"
	}
	return ""
}

func deviceModel(r *rnd.Stream, osName, devType string) (string, string) {
	if osName == "ios" {
		if devType == "tablet" {
			return "Apple", "iPad"
		}
		return "Apple", "iPhone"
	}
	makes := []string{"Samsung", "Google", "Xiaomi", "Motorola", "OnePlus"}
	m := makes[r.IntN(len(makes))]
	return m, m + " " + strconv.Itoa(5+r.IntN(10))
}
