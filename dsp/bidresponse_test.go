package dsp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// typicalAnswer is a DSP's usual answer: one seat, one bid, markup with escaped quotes.
const typicalAnswer = `{"id":"r1","bidid":"bid-1","cur":"USD","seatbid":[{"seat":"seat-1","bid":[{"id":"b1","impid":"1",` +
	`"price":0.62,"adm":"<script src=\"https://cdn.dsp1.example/ad.js?p=${AUCTION_PRICE}\"></script>",` +
	`"nurl":"http://127.0.0.1:1/win?p=${AUCTION_PRICE}","adomain":["brand1.example"],"crid":"cr-1","w":300,"h":250}]}]}`

// fastDecode runs the hand-written decoder alone (no fallback to encoding/json).
func fastDecode(data []byte, resp *openrtb2.BidResponse) error {
	d := decoders.Get().(*respDecoder)
	d.reset(data)
	err := d.response(resp)
	d.release()
	return err
}

// sameResponse reports whether a and b are equal, prices bit for bit (-0 is not 0).
func sameResponse(a, b *openrtb2.BidResponse) bool {
	if !reflect.DeepEqual(a, b) {
		return false
	}
	for i := range a.SeatBid {
		for j := range a.SeatBid[i].Bid {
			if math.Float64bits(a.SeatBid[i].Bid[j].Price) != math.Float64bits(b.SeatBid[i].Bid[j].Price) {
				return false
			}
		}
	}
	return true
}

func dump(r *openrtb2.BidResponse) string { return fmt.Sprintf("%#v", *r) }

// validAnswers are answers that encoding/json accepts and the hand-written decoder decides.
var validAnswers = []struct{ name, body string }{
	{"typical", typicalAnswer},
	{"null", `null`},
	{"empty object", ` { } `},
	{"whitespace everywhere", "\t{\r\n \"id\" : \"r1\" ,\n\"seatbid\"\t:\t[ { \"bid\" : [ { \"price\" : 1 } ] } ] }\n"},
	{"every bid field", `{"id":"r1","bidid":"x","cur":"EUR","customdata":"cd","nbr":2,"ext":{"a":[1,{"b":null}]},` +
		`"seatbid":[{"seat":"s","group":1,"ext":{"s":1},"bid":[{"id":"b","impid":"1","price":1.25,"nurl":"n","burl":"b",` +
		`"lurl":"l","adm":"m","adid":"ad","adomain":["a.example","b.example"],"bundle":"com.x","iurl":"i","cid":"c",` +
		`"crid":"cr","tactic":"t","cattax":2,"cat":["IAB1","IAB2"],"attr":[1,2,3],"apis":[5],"api":3,"protocol":2,` +
		`"qagmediarating":1,"language":"en","langb":"fr","dealid":"d","w":300,"h":250,"wratio":16,"hratio":9,"exp":300,` +
		`"dur":30,"mtype":1,"slotinpod":-1,"ext":{"prebid":{"type":"banner"}}}]}]}`},
	{"lying values the auction refuses", `{"id":"r1","cur":"XXX","seatbid":[{"bid":[{"id":"b","impid":"nope","price":-1}]}]}`},
	{"several seats and bids", `{"id":"r1","seatbid":[{"seat":"a","bid":[{"price":1},{"price":2},{"price":3}]},` +
		`{"seat":"b","bid":[{"price":4,"adomain":["x"]}]},{"bid":[]},{}]}`},
	{"nulls", `{"id":null,"seatbid":[null,{"seat":null,"group":null,"bid":[null,{"id":null,"price":null,"adomain":null,` +
		`"cat":[null,"a"],"attr":[null,1],"w":null,"ext":null}],"ext":null}],"nbr":null,"ext":null,"cur":null}`},
	{"null seatbid", `{"id":"r1","seatbid":null}`},
	{"null bid list", `{"id":"r1","seatbid":[{"bid":null}]}`},
	{"empty arrays", `{"id":"r1","seatbid":[{"bid":[{"adomain":[],"cat":[],"attr":[],"apis":[]}]}]}`},
	{"empty seatbid", `{"id":"r1","seatbid":[]}`},
	{"ext of every kind", `{"ext":"s","seatbid":[{"ext":12.5e3,"bid":[{"ext":true},{"ext":false},{"ext":[]},{"ext":{}}]}]}`},
	{"unknown fields", `{"id":"r1","dsp":{"a":[1,2,{"b":"c\u00e9"}],"t":true,"f":false,"n":null},"x":-0.5e-3,` +
		`"seatbid":[{"vendor":[[[]]],"bid":[{"price":1,"extra":"\"quoted\"","more":{}}]}]}`},
	{"keys in other cases", `{"ID":"r1","SeatBid":[{"Seat":"s","BID":[{"Price":1.5,"ImpId":"1","ADomain":["a"]}]}],"Cur":"USD"}`},
	{"long unknown key in upper case", `{"ThisKeyIsLongerThanAnyField":1,"id":"r1"}`},
	{"escapes", `{"id":"r\"1","seatbid":[{"bid":[{"adm":"\\ \/ \b \f \n \r \t \u0041 \u00e9 \u20ac \ud83d\ude00 end",` +
		`"nurl":"http:\/\/x.example\/win"}]}]}`},
	{"unpaired surrogates", `{"id":"\ud800","cur":"\udc00x","bidid":"\ud800\u0041","customdata":"\ud83d\ud83d\ude00"}`},
	{"utf-8", `{"id":"r1","seatbid":[{"seat":"sè","bid":[{"adm":"日本語 €","adomain":["ü.example"]}]}]}`},
	{"invalid utf-8", "{\"id\":\"r\xff1\",\"cur\":\"\xc3\",\"bidid\":\"\xed\xa0\x80\"}"},
	{"invalid utf-8 in an escaped string", "{\"id\":\"\\n\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\"}"},
	{"numbers", `{"seatbid":[{"group":-128,"bid":[{"price":-0},{"price":1E2},{"price":1e-400},{"price":0.1e+1},` +
		`{"price":123456789012345678901234567890},{"w":-9223372036854775808,"h":9223372036854775807},{"w":-0}]}]}`},
	{"int8 bounds", `{"seatbid":[{"group":127,"bid":[{"mtype":-128,"slotinpod":127,"protocol":0,"qagmediarating":-1}]}]}`},
	{"empty strings", `{"id":"","seatbid":[{"seat":"","bid":[{"id":"","adm":""}]}]}`},
	{"unknown keys that fold to no field", "{\"id\":\"r1\",\"prix€\":1,\"SEAT\xff\":\"s\",\"é\":{\"seat\":1}}"},
}

// TestDecodeResponseValid: answers that encoding/json accepts are decoded by the
// hand-written decoder itself, into exactly what encoding/json gives.
func TestDecodeResponseValid(t *testing.T) {
	for _, tt := range validAnswers {
		t.Run(tt.name, func(t *testing.T) {
			var want, got openrtb2.BidResponse
			if err := json.Unmarshal([]byte(tt.body), &want); err != nil {
				t.Fatalf("encoding/json refuses the test answer: %v", err)
			}
			if err := fastDecode([]byte(tt.body), &got); err != nil {
				t.Fatalf("the decoder left a valid answer to encoding/json: %v", err)
			}
			if !sameResponse(&got, &want) {
				t.Errorf("got  %s\nwant %s", dump(&got), dump(&want))
			}
		})
	}
}

// TestDecodeResponseMalformed: answers that encoding/json refuses are refused (the fast
// decoder leaves them to encoding/json, which says why), and Decode reports them as
// malformed.
func TestDecodeResponseMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `<html>`},
		{"truncated", `{"id":"r1","seatbid":[{"bid":[{"price":1`},
		{"truncated string", `{"id":"r1`},
		{"truncated escape", `{"id":"r1\`},
		{"truncated literal", `{"id":nul`},
		{"trailing garbage", `{"id":"r1"} x`},
		{"two values", `{"id":"r1"}{}`},
		{"trailing comma in object", `{"id":"r1",}`},
		{"trailing comma in array", `{"seatbid":[{},]}`},
		{"missing comma", `{"id":"r1" "cur":"USD"}`},
		{"missing colon", `{"id" "r1"}`},
		{"single quotes", `{'id':'r1'}`},
		{"unquoted key", `{id:"r1"}`},
		{"a byte order mark", "\xef\xbb\xbf{}"},
		{"a vertical tab as whitespace", "{\v}"},
		{"control character in a string", "{\"adm\":\"a\tb\"}"},
		{"control character in a key", "{\"i\nd\":1}"},
		{"unknown escape", `{"id":"\x41"}`},
		{"escaped single quote", `{"id":"\'"}`},
		{"short unicode escape", `{"id":"\u12"}`},
		{"bad hex in unicode escape", `{"id":"\u12G4"}`},
		{"leading zero", `{"seatbid":[{"bid":[{"price":01}]}]}`},
		{"plus sign", `{"seatbid":[{"bid":[{"price":+1}]}]}`},
		{"bare fraction", `{"seatbid":[{"bid":[{"price":.5}]}]}`},
		{"empty fraction", `{"seatbid":[{"bid":[{"price":1.}]}]}`},
		{"empty exponent", `{"seatbid":[{"bid":[{"price":1e}]}]}`},
		{"lone minus", `{"seatbid":[{"bid":[{"price":-}]}]}`},
		{"NaN", `{"seatbid":[{"bid":[{"price":NaN}]}]}`},
		{"Infinity", `{"seatbid":[{"bid":[{"price":Infinity}]}]}`},
		{"hex number", `{"seatbid":[{"bid":[{"price":0x10}]}]}`},
		{"price out of float range", `{"id":"r1","seatbid":[{"bid":[{"price":1e400}]}]}`},
		{"price as a string", `{"id":"r1","seatbid":[{"bid":[{"id":"b","impid":"1","price":"1.5"}]}]}`},
		{"price as a bool", `{"id":"r1","seatbid":[{"bid":[{"price":true}]}]}`},
		{"id as a number", `{"id":1}`},
		{"id as an object", `{"id":{}}`},
		{"id as an array", `{"id":["r1"]}`},
		{"width with a fraction", `{"seatbid":[{"bid":[{"w":300.5}]}]}`},
		{"width with an exponent", `{"seatbid":[{"bid":[{"w":3e2}]}]}`},
		{"width out of int64", `{"seatbid":[{"bid":[{"w":9223372036854775808}]}]}`},
		{"group out of int8", `{"seatbid":[{"group":128,"bid":[]}]}`},
		{"mtype out of int8", `{"seatbid":[{"bid":[{"mtype":-129}]}]}`},
		{"nbr as a string", `{"nbr":"2"}`},
		{"seatbid as an object", `{"seatbid":{"bid":[]}}`},
		{"seatbid element a string", `{"seatbid":["s"]}`},
		{"bid as an object", `{"seatbid":[{"bid":{"price":1}}]}`},
		{"bid element a number", `{"seatbid":[{"bid":[1]}]}`},
		{"adomain a string", `{"seatbid":[{"bid":[{"adomain":"a.example"}]}]}`},
		{"adomain element a number", `{"seatbid":[{"bid":[{"adomain":[1]}]}]}`},
		{"attr element a string", `{"seatbid":[{"bid":[{"attr":["1"]}]}]}`},
		{"attr element a fraction", `{"seatbid":[{"bid":[{"attr":[1.5]}]}]}`},
		{"bad ext", `{"seatbid":[{"bid":[{"ext":{"a":}}]}]}`},
		{"bad unknown value", `{"other":[1,2,,3],"id":"r1"}`},
		{"unclosed unknown value", `{"other":{"a":[1,2}`},
		{"bad literal in unknown value", `{"other":tru}`},
		{"top-level array", `[{"id":"r1"}]`},
		{"top-level string", `"r1"`},
		{"top-level number", `1`},
		{"top-level true", `true`},
		{"null then garbage", `null x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want openrtb2.BidResponse
			if json.Unmarshal([]byte(tt.body), &want) == nil {
				t.Fatalf("encoding/json accepts the test answer")
			}
			var got openrtb2.BidResponse
			if err := fastDecode([]byte(tt.body), &got); !errors.Is(err, errSlow) {
				t.Errorf("fast decoder: err = %v, want errSlow", err)
			}
			got = openrtb2.BidResponse{}
			bids, err := Decode([]byte(tt.body), "r1", &got)
			if bids || KindOf(err) != KindMalformed {
				t.Errorf("Decode = %v, %v; want false and a malformed error", bids, err)
			}
		})
	}
}

// TestDecodeResponseLeftToEncodingJSON: valid answers that the decoder does not decide
// itself come out of decodeResponse exactly as encoding/json decodes them.
func TestDecodeResponseLeftToEncodingJSON(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	tests := []struct{ name, body string }{
		{"duplicate key (merged by encoding/json)", `{"seatbid":[{"seat":"a","bid":[{"price":1}]}],"seatbid":[{"group":1}]}`},
		{"duplicate key in other cases", `{"id":"r1","ID":"r2"}`},
		{"duplicate bid field", `{"seatbid":[{"bid":[{"price":1,"price":2}]}]}`},
		{"escaped key", `{"\u0069d":"r1"}`},
		{"key folded by Unicode rules", `{"id":"r1","seatbid":[{"ſeat":"s","bid":[{"price":1}]}]}`},
		{"deep unknown value", `{"id":"r1","x":` + deep + `}`},
		{"deep ext", `{"id":"r1","ext":` + deep + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want, got openrtb2.BidResponse
			if err := json.Unmarshal([]byte(tt.body), &want); err != nil {
				t.Fatalf("encoding/json refuses the test answer: %v", err)
			}
			if err := fastDecode([]byte(tt.body), &got); !errors.Is(err, errSlow) {
				t.Errorf("fast decoder: err = %v, want errSlow", err)
			}
			got = openrtb2.BidResponse{}
			if err := decodeResponse([]byte(tt.body), &got); err != nil {
				t.Fatal(err)
			}
			if !sameResponse(&got, &want) {
				t.Errorf("got  %s\nwant %s", dump(&got), dump(&want))
			}
		})
	}

	t.Run("into a response already set (merged by encoding/json)", func(t *testing.T) {
		body := []byte(`{"seatbid":[{"bid":[{"price":2}]}]}`)
		want := openrtb2.BidResponse{ID: "r1", SeatBid: []openrtb2.SeatBid{{Seat: "s", Bid: []openrtb2.Bid{{ImpID: "1"}}}}}
		got := openrtb2.BidResponse{ID: "r1", SeatBid: []openrtb2.SeatBid{{Seat: "s", Bid: []openrtb2.Bid{{ImpID: "1"}}}}}
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatal(err)
		}
		if err := decodeResponse(body, &got); err != nil {
			t.Fatal(err)
		}
		if !sameResponse(&got, &want) || got.SeatBid[0].Bid[0].ImpID != "1" {
			t.Errorf("got  %s\nwant %s", dump(&got), dump(&want))
		}
	})
}

// TestDecodeResponseEveryField: every field of openrtb2's BidResponse, SeatBid and Bid is
// decoded by the hand-written decoder. A field added by a new openrtb version would be
// skipped as unknown, and this fails.
func TestDecodeResponseEveryField(t *testing.T) {
	var check func(t *testing.T, typ reflect.Type, wrap func(string) string)
	check = func(t *testing.T, typ reflect.Type, wrap func(string) string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			var value string
			switch {
			case f.Type == reflect.TypeFor[json.RawMessage]():
				value = `{"k":[1]}`
			case f.Type == reflect.TypeFor[[]openrtb2.SeatBid]():
				check(t, reflect.TypeFor[openrtb2.SeatBid](), func(s string) string { return wrap(`{"seatbid":[` + s + `]}`) })
				value = `[{"seat":"s"}]`
			case f.Type == reflect.TypeFor[[]openrtb2.Bid]():
				check(t, reflect.TypeFor[openrtb2.Bid](), func(s string) string { return wrap(`{"bid":[` + s + `]}`) })
				value = `[{"id":"b"}]`
			default:
				switch k := f.Type.Kind(); {
				case k == reflect.String:
					value = `"v"`
				case k == reflect.Float64:
					value = `1.5`
				case k >= reflect.Int && k <= reflect.Int64:
					value = `7`
				case k == reflect.Pointer && f.Type.Elem().Kind() == reflect.Int64:
					value = `7`
				case k == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
					value = `["v"]`
				case k == reflect.Slice && f.Type.Elem().Kind() == reflect.Int64:
					value = `[7]`
				default:
					t.Errorf("%s.%s: no sample value for %v", typ.Name(), f.Name, f.Type)
					continue
				}
			}
			body := wrap(`{"` + name + `":` + value + `}`)
			var want, got openrtb2.BidResponse
			if err := json.Unmarshal([]byte(body), &want); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if err := fastDecode([]byte(body), &got); err != nil {
				t.Errorf("%s.%s: %s: %v", typ.Name(), f.Name, body, err)
				continue
			}
			if !sameResponse(&got, &want) {
				t.Errorf("%s.%s: %s:\ngot  %s\nwant %s", typ.Name(), f.Name, body, dump(&got), dump(&want))
			}
		}
	}
	check(t, reflect.TypeFor[openrtb2.BidResponse](), func(s string) string { return s })

	// zeroResponse must look at every field of BidResponse.
	if n := reflect.TypeFor[openrtb2.BidResponse]().NumField(); n != 7 {
		t.Errorf("BidResponse has %d fields; zeroResponse checks 7", n)
	}
}

// TestDecodeResponseDoesNotAlias: what the decoder returns survives the reuse of the
// answer's buffer (the gateway's is pooled).
func TestDecodeResponseDoesNotAlias(t *testing.T) {
	body := []byte(`{"id":"r1","cur":"USD","ext":{"x":1},"seatbid":[{"seat":"s","ext":[2],"bid":[{"id":"b","impid":"1",` +
		`"price":1,"adm":"<a href=\"x\">é</a>","nurl":"http://n.example/","lurl":"http://l.example/",` +
		`"burl":"http://b.example/","adomain":["a.example"],"cat":["IAB1"],"ext":{"y":2}}]}]}`)
	var want, got openrtb2.BidResponse
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if err := fastDecode(body, &got); err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	if !sameResponse(&got, &want) {
		t.Errorf("after the buffer was overwritten:\ngot  %s\nwant %s", dump(&got), dump(&want))
	}
}

// TestDecodeResponseAllocs: the typical answer costs one copy of the answer and one
// allocation per slice (seatbid, bid, adomain) and per escaped string (adm).
func TestDecodeResponseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	body := []byte(typicalAnswer)
	n := testing.AllocsPerRun(100, func() {
		var resp openrtb2.BidResponse
		if err := fastDecode(body, &resp); err != nil {
			t.Fatal(err)
		}
	})
	if n > 5 {
		t.Errorf("%v allocations per answer, want at most 5", n)
	}
}

// checkAgainstJSON compares the decoder with encoding/json decoding data into
// openrtb2.BidResponse: an answer the hand-written decoder accepts must be accepted by
// encoding/json with the same values; decodeResponse (with its fallback) must agree with
// encoding/json on every answer; Decode's verdict must follow. It reports whether the
// hand-written decoder decided the answer itself.
func checkAgainstJSON(t *testing.T, data []byte) (fast bool) {
	var want openrtb2.BidResponse
	wantErr := json.Unmarshal(data, &want)

	var got openrtb2.BidResponse
	switch err := fastDecode(data, &got); {
	case err == nil:
		fast = true
		if wantErr != nil {
			t.Fatalf("decoder accepts what encoding/json refuses (%v): %q", wantErr, data)
		}
		if !sameResponse(&got, &want) {
			t.Fatalf("%q:\ngot  %s\nwant %s", data, dump(&got), dump(&want))
		}
	case !errors.Is(err, errSlow):
		t.Fatalf("decoder error %v is not errSlow", err)
	}

	got = openrtb2.BidResponse{}
	err := decodeResponse(data, &got)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("decodeResponse err = %v, encoding/json's %v: %q", err, wantErr, data)
	}
	if err == nil && !sameResponse(&got, &want) {
		t.Fatalf("%q:\ngot  %s\nwant %s", data, dump(&got), dump(&want))
	}

	var resp openrtb2.BidResponse
	bids, err := Decode(data, want.ID, &resp)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		if bids || err != nil {
			t.Fatalf("empty answer: Decode = %v, %v", bids, err)
		}
	case wantErr != nil:
		if bids || KindOf(err) != KindMalformed {
			t.Fatalf("Decode = %v, %v; want a malformed error", bids, err)
		}
	default:
		wantBids := false
		for _, sb := range want.SeatBid {
			wantBids = wantBids || len(sb.Bid) > 0
		}
		if bids != wantBids || err != nil {
			t.Fatalf("Decode = %v, %v; want %v", bids, err, wantBids)
		}
	}
	return fast
}

// fuzzSeeds are answers of every shape, valid and not.
var fuzzSeeds = []string{
	typicalAnswer, `null`, `{}`, `{"id":"r1","seatbid":[{"bid":[{"price":1,"impid":"1","w":3,"ext":{"a":[true]}}]}]}`,
	`{"id":"\ud83d\ude00\u00e9\n","seatbid":[null,{"bid":[null]}],"nbr":3,"ext":null}`,
	"{\"id\":\"\xff\",\"Cur\":\"USD\",\"x\":[1e5,-0.1,\"\\\"\"]}",
	`{"seatbid":[{"group":127,"bid":[{"mtype":1,"attr":[1,null],"cat":["a",null],"adomain":[]}]}]}`,
	`{"seatbid":[{"bid":[{"price":01}]}]}`, `{"id":"r1","ID":"r2"}`, `{"id":"\u0069"}`, `{"ſeat":1,"é":2}`,
	`{"id":"r1","bidid":"x","cur":"EUR","customdata":"cd","nbr":2,"ext":{"a":[1,{"b":null}]},"seatbid":[{"seat":"s",` +
		`"group":1,"ext":{"s":1},"bid":[{"id":"b","impid":"1","price":1.25,"nurl":"n","burl":"b","lurl":"l","adm":"m",` +
		`"adid":"ad","adomain":["a.example","b.example"],"bundle":"com.x","iurl":"i","cid":"c","crid":"cr","tactic":"t",` +
		`"cattax":2,"cat":["IAB1","IAB2"],"attr":[1,2,3],"apis":[5],"api":3,"protocol":2,"qagmediarating":1,"language":"en",` +
		`"langb":"fr","dealid":"d","w":300,"h":250,"wratio":16,"hratio":9,"exp":300,"dur":30,"mtype":1,"slotinpod":-1,` +
		`"ext":{"prebid":{"type":"banner"}}}]}]}`,
}

// FuzzDecodeResponse: any answer (checkAgainstJSON).
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, a := range validAnswers {
		f.Add([]byte(a.body))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkAgainstJSON(t, data) })
}

// FuzzDecodeResponseField: any value under any field of a response, a seatbid or a bid
// (or an unknown one), in an answer that is otherwise valid (checkAgainstJSON).
func FuzzDecodeResponseField(f *testing.F) {
	type place struct{ key, before, after string }
	var places []place
	for _, level := range []struct {
		typ           reflect.Type
		before, after string
	}{
		{reflect.TypeFor[openrtb2.BidResponse](), `{`, `}`},
		{reflect.TypeFor[openrtb2.SeatBid](), `{"seatbid":[{`, `}]}`},
		{reflect.TypeFor[openrtb2.Bid](), `{"id":"r1","seatbid":[{"seat":"s","bid":[{"impid":"1",`, `}]}]}`},
	} {
		for i := range level.typ.NumField() {
			name, _, _ := strings.Cut(level.typ.Field(i).Tag.Get("json"), ",")
			places = append(places, place{name, level.before, level.after})
		}
		places = append(places, place{"other", level.before, level.after})
	}
	for i, v := range []string{`"v"`, `7`, `-1.5e3`, `null`, `[]`, `["a",null]`, `[1,2]`, `{"k":[true]}`, `"\u00e9\""`} {
		for j := range places {
			if (i+j)%3 == 0 {
				f.Add(uint8(j), []byte(v))
			}
		}
	}
	f.Fuzz(func(t *testing.T, where uint8, value []byte) {
		p := places[int(where)%len(places)]
		data := make([]byte, 0, len(p.before)+len(p.key)+len(value)+len(p.after)+3)
		data = append(data, p.before...)
		data = append(data, '"')
		data = append(data, p.key...)
		data = append(data, '"', ':')
		data = append(data, value...)
		data = append(data, p.after...)
		checkAgainstJSON(t, data)
	})
}

func BenchmarkDecode(b *testing.B) {
	body := []byte(typicalAnswer)
	b.Run("bidsieve", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var resp openrtb2.BidResponse
			if _, err := Decode(body, "r1", &resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var resp openrtb2.BidResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
