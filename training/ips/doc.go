// Package ips checks that training on the gateway's own log is unbiased (issue 13,
// "Unbiased retraining"). Once the gateway filters, its log is no longer a sample of the
// traffic: a filtered row carries no label, and the labelled rows are the high scores plus
// the few explored ones. Training and evaluation weigh an explored row by 1/propensity
// (metrics.RowWeight) so that the labelled rows stand for all traffic again.
//
// FilterLog turns unfiltered simulated logs into the log the gateway would have written in
// filter mode with a given champion model and exploration rate, with the gateway's own
// scorer and decision rule. Run is the experiment: simulate, train a champion on the first
// days, replay the later days through it, train three models on those days (U: the
// unfiltered log; F-IPS: the filtered log, weighted; F-noIPS: the same filtered log, every
// labelled row weight 1), and evaluate the three on an unfiltered test day.
package ips
