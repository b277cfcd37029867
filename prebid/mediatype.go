package prebid

import "github.com/prebid/openrtb/v19/openrtb2"

// MediaType is a bid's kind of creative. Its values are OpenRTB 2.6's bid.mtype
// (1 banner, 2 video, 3 audio, 4 native); 0 is none.
type MediaType uint8

// Media types.
const (
	MediaNone   MediaType = 0
	MediaBanner MediaType = MediaType(openrtb2.MarkupBanner)
	MediaVideo  MediaType = MediaType(openrtb2.MarkupVideo)
	MediaAudio  MediaType = MediaType(openrtb2.MarkupAudio)
	MediaNative MediaType = MediaType(openrtb2.MarkupNative)
	numMedia              = MediaNative + 1
)

var mediaNames = [numMedia]string{"", "banner", "video", "audio", "native"}

// String is the name Prebid uses for the type in ext.prebid.type and hb_format:
// "banner", "video", "audio", "native"; "" for none.
func (m MediaType) String() string {
	if m < numMedia {
		return mediaNames[m]
	}
	return ""
}

// mediaFromName returns the media type named by an ext.prebid.type value (the raw bytes of
// a JSON string's contents), MediaNone when it names none.
func mediaFromName(b []byte) MediaType {
	for m := MediaBanner; m < numMedia; m++ {
		if string(b) == mediaNames[m] {
			return m
		}
	}
	return MediaNone
}

// mediaSet is a set of media types, one bit per type.
type mediaSet uint8

func (s mediaSet) has(m MediaType) bool { return s&(1<<m) != 0 }

// only returns the set's one member, MediaNone when it has none or several.
func (s mediaSet) only() MediaType {
	for m := MediaBanner; m < numMedia; m++ {
		if s == 1<<m {
			return m
		}
	}
	return MediaNone
}

// offered returns the media types an imp offers: one per media object it carries.
func offered(imp *openrtb2.Imp) mediaSet {
	var s mediaSet
	if imp.Banner != nil {
		s |= 1 << MediaBanner
	}
	if imp.Video != nil {
		s |= 1 << MediaVideo
	}
	if imp.Audio != nil {
		s |= 1 << MediaAudio
	}
	if imp.Native != nil {
		s |= 1 << MediaNative
	}
	return s
}

// impSize returns the imp's one size for a bid of media type m: a banner's only format (or
// its w and h when it lists none), a video's w and h. It reports false when the imp does
// not name exactly one size for m.
func impSize(imp *openrtb2.Imp, m MediaType) (w, h int64, ok bool) {
	switch m {
	case MediaBanner:
		b := imp.Banner
		switch {
		case len(b.Format) == 1:
			w, h = b.Format[0].W, b.Format[0].H
		case len(b.Format) == 0 && b.W != nil && b.H != nil:
			w, h = *b.W, *b.H
		}
	case MediaVideo:
		w, h = imp.Video.W, imp.Video.H
	}
	return w, h, w > 0 && h > 0
}
