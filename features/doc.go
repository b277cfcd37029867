// Package features is the one feature extractor of bidsieve: the gateway uses it to write
// bid-log rows and to score requests, and training uses it to build model inputs from those
// rows, so that training and serving can never disagree (no train/serve skew).
//
// Extract turns an OpenRTB request, one of its imps and the time of handling into Raw, the
// bid-log feature columns. Everything is pure and safe for concurrent use. Prices are CPM in
// the base currency.
//
// # The feature table
//
// Two declarations, both in this package, say everything about the features:
//
//   - Raw (raw.go) is the columns: each field is a bid-log column, named by its parquet
//     tag, filled by Extract. bidlog.Row embeds Raw, so the log's feature columns are
//     Raw's fields in Raw's order; nothing else lists them.
//   - DefaultDefs (defs.go) is the model inputs, in model order: the DSP, the other
//     categorical inputs, then the continuous ones. Each Def names the column it reads;
//     an input that takes its column as it is needs nothing more (Tokens for a bool or
//     int32 column read as a category), one computed from it gives Str, Enum or Value.
//     The spec (names, kinds, validation, the definition hash), SpecBuilder, the Encoder
//     and the FTRL baseline's feature groups all read this table; NewTable checks it
//     against Raw (a column Raw lacks, or of a type the input cannot read, is an error).
//
// # Adding a model input
//
//  1. If the input needs a value the log does not have yet, add a field to Raw, with its
//     parquet tag (`dict` for a string; the types are string, bool, int32 and float64), at
//     the place its column should take in the log, and fill it in Extract. Adding a column
//     changes the bid-log schema: record it in docs/DESIGN.md, "Bid log", and
//     update bidlog/testdata/schema.golden (TestSchemaIsTheContract prints the new one).
//     Old log files lack the column and read it as the zero value, so train on days
//     logged after the change.
//  2. Add one Def to DefaultDefs. Each kind keeps column order, so the Def goes after the
//     inputs of its kind that read earlier columns: for a new last column, at the end of
//     the categorical inputs (before log_floor) or at the end of the continuous ones. An
//     input computed from existing columns (like log_floor from floor_cpm) needs this
//     step only.
//  3. Bump SpecVersion (spec.go) and update specHashV1 in table_test.go, renaming it
//     for the new version.
//  4. Regenerate the golden files (go test ./features -run Golden -update) and read the
//     diff: only the new input may appear.
//  5. Retrain: serving refuses every model file trained before the change (see below).
//
// TestTableAgreesWithRaw fails when an input reads another column than it declares or
// comes out of column order, or when a column is read by no input; TestAddedInputFlowsThrough shows an input added to
// the table alone reaching the spec, the encoder, the bid log and the model file.
//
// # The spec version and the definition hash
//
// A model file records Spec.Hash(), the hash of SpecVersion and the inputs' names and
// kinds in order, and serving refuses a file whose hash differs from DefinitionHash(). So
// the hash changes, and every existing model file stops loading, when an input is added,
// removed, renamed, reordered or changes kind, or when SpecVersion changes. It does not
// change with the vocabularies, embedding sizes or normalisation (data that training
// learns, protected by the file's checksum), nor with what an input means: a new
// normalisation in Extract, another transform in a Value, another set of Tokens. For
// those, bump SpecVersion, so that the hash changes and no model trained on the old
// meaning is served with the new one. Changing a column's type or name in Raw changes the
// bid-log contract instead, which old logs cannot follow: add a new column rather.
package features
