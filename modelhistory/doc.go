// Package modelhistory keeps the versions of the model that `bidsieve retrain` produced,
// beside the file the gateway serves: for model.path models/current.bsm, the folder
// models/history holds VERSION.bsm (the model file of each promoted version, and of the
// model that was in force when retrain first ran) and VERSION.json (its evaluation on the
// held-out day and the decision, promoted or refused and why, DSP by DSP; a refused
// challenger has a JSON entry but no model file).
//
// Install copies a version's model file over model.path atomically (temporary file in the
// same folder, fsync, rename): the gateway's watcher (cmd/bidsieve, serve_model.go) sees
// one rename and reloads the whole file, never a partial one. Promotion and rollback take
// an exclusive flock on history/.install.lock, so that they never interleave; a retrain
// run holds history/.retrain.lock for its whole length, so that two retrain processes on
// one folder never train and promote at once.
//
// It does not import gorgonia (the admin server reads it). Functions are safe for
// concurrent use by several processes on one folder, through those locks; times are UTC.
package modelhistory
