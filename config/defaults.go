package config

import (
	_ "embed" // the default configuration file
	"time"
)

// DefaultYAML is the configuration used when no file is given: the gateway on :8080 in
// front of the six simulated DSPs (alpha..foxtrot) of `bidsieve dsp-sim` on 127.0.0.1:9001.
//
//go:embed default.yaml
var DefaultYAML []byte

// Defaults returns the configuration with every default set and no DSP: what a file
// starts from before its keys are applied.
func Defaults() *Config {
	return &Config{
		Listen:          ":8080",
		AdminListen:     ":8081",
		AdminTrendEvery: time.Minute,
		Server:          Server{DrainDelay: 0, DrainTimeout: 15 * time.Second},
		Auction: Auction{
			DefaultTMax:  200 * time.Millisecond,
			MaxTMax:      1000 * time.Millisecond,
			SafetyMargin: 15 * time.Millisecond,
			MaxBodyBytes: 1 << 20,
			NoBid:        NoBidAuto,
		},
		Currency: Currency{Base: "USD", Rates: map[string]float64{"EUR": 1.08, "GBP": 1.27}},
		Shaping:  Shaping{Mode: ModeFilter, RecallTarget: 0.95, ExplorationRate: 0.02, OnDrift: DriftAlert, DriftAfter: 30 * time.Minute},
		Model:    Model{Path: "models/current.bsm"},
		BidLog: BidLog{Dir: "data/bidlog", RollInterval: time.Minute, Queue: 4096, MaxFileBytes: 256 << 20,
			Kafka: Kafka{
				Topic: "bidsieve.bidlog", ClientID: "bidsieve", Compression: CompressionZstd,
				Linger: 5 * time.Millisecond, MaxBufferedRecords: 1 << 20, MaxBufferedBytes: 256 << 20,
			},
		},
		Retrain: Retrain{Tolerance: 0.02, MinBids: 100},
		Store:   Store{SQLite: "data/bidsieve.db"},
		Log:     Log{Level: "info", Format: "text"},
		Tracing: Tracing{Exporter: TracingNone, SampleRatio: 0.01, ServiceName: "bidsieve"},
		Fanout: Fanout{
			MaxResponseBytes:    512 << 10,
			MaxIdleConnsPerHost: 256,
			DialTimeout:         500 * time.Millisecond,
			IdleConnTimeout:     90 * time.Second,
		},
		Overload: Overload{MaxWait: 20 * time.Millisecond, RetryAfter: time.Second},
		Breaker: Breaker{
			Window: 10 * time.Second, MinCalls: 100, FailureRatio: 0.5,
			TrialShare: 0.05, TrialCalls: 20, CloseRatio: 0.8,
			LagTolerance: 10 * time.Millisecond,
			RateDecrease: 0.5, RateFloor: 0.05, RateRecovery: 0.1, MaxRetryAfter: 10 * time.Second,
		},
		Notices: Notices{Workers: 16, Queue: 4096, Timeout: 2 * time.Second},
		SChain:  SChain{HP: 1},
	}
}

// DefaultDSP returns a DSP entry's defaults, applied to every key an entry omits.
func DefaultDSP() DSP {
	return DSP{Enabled: true, Timeout: 150 * time.Millisecond, BidAdjustment: 1, ThirdParty: true}
}

// Default returns the embedded default configuration, environment not applied.
func Default() *Config {
	c, err := Parse(DefaultYAML)
	if err != nil {
		panic("config: the embedded default.yaml is broken: " + err.Error()) // caught by the tests
	}
	return c
}
