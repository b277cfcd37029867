package dsp

import (
	"net/url"
	"strings"
)

// HostAllowed reports whether rawURL is an http or https URL whose host is in hosts. An
// entry "*.example.com" allows every subdomain of example.com (not example.com itself).
// Hosts compare without case; the port does not matter.
func HostAllowed(rawURL string, hosts []string) bool {
	if len(hosts) == 0 {
		return false
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return false
	}
	h := u.Hostname()
	if h == "" {
		return false
	}
	for _, allowed := range hosts {
		if suffix, ok := strings.CutPrefix(allowed, "*."); ok {
			if len(h) > len(suffix)+1 && h[len(h)-len(suffix)-1] == '.' && strings.EqualFold(h[len(h)-len(suffix):], suffix) {
				return true
			}
			continue
		}
		if strings.EqualFold(strings.Trim(allowed, "[]"), h) {
			return true
		}
	}
	return false
}
