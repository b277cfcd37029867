package bidlog

import "github.com/bidsieve/bidsieve/features"

// Decisions written in the `decision` column.
const (
	DecisionSent        = "sent"
	DecisionFiltered    = "filtered"
	DecisionExplored    = "explored"
	DecisionThrottled   = "throttled"
	DecisionBreakerOpen = "breaker_open"
	DecisionShadow      = "shadow"
	DecisionFailOpen    = "fail_open"
)

// Outcomes written in the `outcome` column.
const (
	OutcomeBid     = "bid"
	OutcomeNoBid   = "nobid"
	OutcomeTimeout = "timeout"
	OutcomeError   = "error"
	OutcomeNotSent = "not_sent"
)

// Row is one bid-log row: one (imp, DSP) pair considered by the gateway or drawn by the
// simulator. The column names and meanings are the contract of docs/DESIGN.md ("Bid log");
// training reads exactly these columns. Units: ts in Unix milliseconds, prices in CPM of
// the base currency, latency in milliseconds.
type Row struct {
	TS        int64  `parquet:"ts,delta"`
	RequestID string `parquet:"request_id"`
	ImpID     string `parquet:"imp_id,dict"`
	DSP       string `parquet:"dsp,dict"`

	// Features as extracted by features.Extract.
	Country    string  `parquet:"country,dict"`
	Region     string  `parquet:"region,dict"`
	DeviceType string  `parquet:"device_type,dict"`
	OS         string  `parquet:"os,dict"`
	Browser    string  `parquet:"browser,dict"`
	Connection string  `parquet:"connection,dict"`
	Channel    string  `parquet:"channel,dict"`
	Domain     string  `parquet:"domain,dict"`
	Publisher  string  `parquet:"publisher,dict"`
	Category   string  `parquet:"category,dict"`
	Format     string  `parquet:"format,dict"`
	Position   string  `parquet:"position,dict"`
	UserID     bool    `parquet:"user_id"`
	FloorCPM   float64 `parquet:"floor_cpm"`
	HourUTC    int32   `parquet:"hour_utc"`
	DayOfWeek  int32   `parquet:"day_of_week"`
	ImpCount   int32   `parquet:"imp_count"`
	TMaxMS     int32   `parquet:"tmax_ms"`

	// Decision.
	Decision     string  `parquet:"decision,dict"`
	Propensity   float64 `parquet:"propensity"` // probability that the row was sent (1 for sent rows)
	Score        float64 `parquet:"score"`      // the request's score for this DSP, 1 - prod(1 - p_imp)
	Threshold    float64 `parquet:"threshold"`
	ModelVersion string  `parquet:"model_version,dict"`

	// Outcome.
	Outcome   string  `parquet:"outcome,dict"`
	BidCPM    float64 `parquet:"bid_cpm"`
	Won       bool    `parquet:"won"`
	ClearCPM  float64 `parquet:"clear_cpm"`
	LatencyMS float64 `parquet:"latency_ms"`

	// TrueP is the simulator's true bid probability; nil (a null) in the gateway's logs.
	TrueP *float64 `parquet:"true_p,optional"`
}

// SetFeatures copies the raw features into the row.
func (r *Row) SetFeatures(f *features.Raw) {
	r.Country = f.Country
	r.Region = f.Region
	r.DeviceType = f.DeviceType
	r.OS = f.OS
	r.Browser = f.Browser
	r.Connection = f.Connection
	r.Channel = f.Channel
	r.Domain = f.Domain
	r.Publisher = f.Publisher
	r.Category = f.Category
	r.Format = f.Format
	r.Position = f.Position
	r.UserID = f.UserID
	r.FloorCPM = f.FloorCPM
	r.HourUTC = int32(f.HourUTC)
	r.DayOfWeek = int32(f.DayOfWeek)
	r.ImpCount = int32(f.ImpCount)
	r.TMaxMS = int32(f.TMaxMS)
}

// Features returns the raw features stored in the row.
func (r *Row) Features() features.Raw {
	return features.Raw{
		Country: r.Country, Region: r.Region, DeviceType: r.DeviceType, OS: r.OS,
		Browser: r.Browser, Connection: r.Connection, Channel: r.Channel, Domain: r.Domain,
		Publisher: r.Publisher, Category: r.Category, Format: r.Format, Position: r.Position,
		UserID: r.UserID, FloorCPM: r.FloorCPM, HourUTC: int(r.HourUTC),
		DayOfWeek: int(r.DayOfWeek), ImpCount: int(r.ImpCount), TMaxMS: int(r.TMaxMS),
	}
}

// Labelled reports whether the row carries a label a model can learn from: the request
// reached the DSP (sent, explored, or sent to all in shadow or fail-open mode). Its label is
// Bid(): a timeout or an error counts as no bid received, which is what the publisher sees
// and what `true_p` measures.
func (r *Row) Labelled() bool {
	switch r.Decision {
	case DecisionSent, DecisionExplored, DecisionFailOpen, DecisionShadow:
		return true
	}
	return false
}

// Bid reports whether the DSP answered with a valid bid.
func (r *Row) Bid() bool { return r.Outcome == OutcomeBid }
