package e2e

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestCommandExitStatus(t *testing.T) {
	define := func(fs *flag.FlagSet) func() (func(context.Context) error, error) {
		fail := fs.Bool("fail", false, "the run fails")
		bad := fs.Bool("bad", false, "the flags do not go together")
		return func() (func(context.Context) error, error) {
			if *bad {
				return nil, errors.New("--bad is bad")
			}
			return func(context.Context) error {
				if *fail {
					return errors.New("it failed")
				}
				return nil
			}, nil
		}
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 0, ""},
		{[]string{"-h"}, 0, "Usage of test"},
		{[]string{"--fail"}, 1, "test: it failed"},
		{[]string{"--bad"}, 2, "test: --bad is bad"},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"extra"}, 2, `test: unexpected argument "extra"`},
	} {
		var stderr strings.Builder
		if code := Command("test", c.args, &stderr, define); code != c.code || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.msg)
		}
	}
}

func TestWindowFlags(t *testing.T) {
	var bin, data string
	var w Window
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	check := WindowFlags(fs, &bin, &data, &w, "data/x")
	if err := fs.Parse([]string{"--requests", "2000", "--start", "2024-05-02"}); err != nil {
		t.Fatal(err)
	}
	if err := check(); err != nil {
		t.Fatal(err)
	}
	if bin != "bin/bidsieve" || data != "data/x" || w.RequestsPerDay != 2000 || w.Days != 7 || w.Seed != 1 ||
		w.Start.Format(Day) != "2024-05-02" || w.Profiles != "dsp/sim/testdata/example.yaml" {
		t.Errorf("got bin %q data %q window %+v", bin, data, w)
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	check = WindowFlags(fs, &bin, &data, &w, "data/x")
	if err := fs.Parse([]string{"--start", "March"}); err != nil {
		t.Fatal(err)
	}
	if err := check(); err == nil || !strings.Contains(err.Error(), "--start") {
		t.Errorf("--start March: %v, want an error naming --start", err)
	}
}
