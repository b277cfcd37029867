// Package config holds bidsieve's configuration: one typed, immutable snapshot read from
// YAML (every key is listed in docs/DESIGN.md, "Configuration"), with defaults in code, strict decoding
// (an unknown key is an error naming its line), BIDSIEVE_ environment overrides and a
// Validate that reports every problem at once, each naming its key.
//
// # Sources, in order
//
//  1. Defaults in code ([Defaults]); a DSP entry gets [DefaultDSP] for the keys it omits.
//  2. The YAML file, or the embedded default file ([DefaultYAML]) when there is none. The
//     embedded file points at the simulated DSPs of `bidsieve dsp-sim` on 127.0.0.1:9001.
//  3. Environment variables (see [Config.ApplyEnv]).
//
// # Environment overrides
//
// Every scalar key has a variable: BIDSIEVE_ followed by its path in upper case, the parts
// joined by underscores: BIDSIEVE_LISTEN, BIDSIEVE_AUCTION_MAX_TMAX=800ms,
// BIDSIEVE_SHAPING_RECALL_TARGET=0.97, BIDSIEVE_LOG_LEVEL=debug. Lists of strings take
// commas (BIDSIEVE_DSPS_ALPHA_NOTICE_HOSTS=a.example,b.example), the rates map takes
// CODE=rate pairs (BIDSIEVE_CURRENCY_RATES=EUR=1.08,GBP=1.27, replacing the map), and a DSP
// is addressed by its name in upper case with every character other than a letter or a
// digit turned into an underscore (BIDSIEVE_DSPS_ALPHA_TIMEOUT=120ms,
// BIDSIEVE_DSPS_ALPHA_ENABLED=false). Variables for DSPs that the file does not list, and
// BIDSIEVE_ variables that name no key, are ignored (CI sets BIDSIEVE_TEST_POSTGRES, for
// example). auth.tokens has no variable.
//
// # Units
//
// Durations are Go duration strings ("150ms", "2s"); a bare number is an error. Prices
// and floors are CPM; currency rates are the value of one unit in the base currency.
//
// # Concurrency
//
// A *Config is a value: nothing in bidsieve mutates one after Load returns it. To change
// settings at run time, Clone the one in force, change the copy, Validate it and hand it to
// the gateway, which swaps it in atomically.
package config
