// Package retrain is one run of `bidsieve retrain`: train a challenger on the last days
// of the gateway's bid log, evaluate it and the model in force (the champion) on the
// newest day, held out of training, and promote the challenger only when it keeps every
// DSP's recall and does not withhold much less traffic (Decide). Every run leaves an entry
// in the model history (package modelhistory), promoted or refused and why, DSP by DSP.
//
// Rows are weighted by inverse propensity throughout (metrics.RowWeight): an explored row
// of propensity q stands for 1/q rows of the traffic the champion filtered, a sent row for
// itself; filtered rows carry no label and are not read. Training and both evaluations see
// the same weights, so the held-out figures stand for all the traffic, not only what the
// champion chose to send.
//
// A run holds the history's retrain lock from start to end and installs under its install
// lock, after checking that model.path still holds the champion it compared with. A run
// uses both cores (training and evaluation); it is not safe to run two Runs on one history
// at once, and the lock refuses the second.
package retrain
