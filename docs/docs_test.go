package docs

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bidsieve/bidsieve/internal/filetest"
)

// repoRoot is the repository root, seen from this package's folder.
const repoRoot = ".."

func repoTree(t *testing.T) *tree {
	t.Helper()
	tr, err := newTree(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	return string(filetest.Read(t, path))
}

// TestContributingNamesExist is the newcomer's check: every file CONTRIBUTING.md tells
// them to touch exists, and every function, type, method or field it names is declared
// where it says (read from the Go source, so a rename that forgets the page fails here).
func TestContributingNamesExist(t *testing.T) {
	errs, n := repoTree(t).checkNames(readFile(t, "CONTRIBUTING.md"))
	t.Logf("CONTRIBUTING.md: %d paths and %d Go names checked", n.paths, n.names)
	for _, err := range errs {
		t.Error(err)
	}
	// The three walkthroughs name a few dozen files and names; far fewer means the page
	// lost its references (or the checker stopped seeing them), not that all is well.
	if n.paths < 25 || n.names < 40 {
		t.Errorf("CONTRIBUTING.md: found %d paths and %d Go names, want at least 25 and 40", n.paths, n.names)
	}
}

// TestDocumentLinksLead checks the relative links and anchors of README.md and docs/*.md.
func TestDocumentLinksLead(t *testing.T) {
	tr := repoTree(t)
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, rel := range append([]string{"README.md"}, prefixed("docs/", pages)...) {
		for _, err := range tr.checkLinks(rel, readFile(t, filepath.Join(repoRoot, rel))) {
			t.Error(err)
		}
		checked++
	}
	if checked < 7 {
		t.Errorf("checked %d pages, want README.md and the six or more pages of docs/", checked)
	}
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

// TestDesignReferencesNameASection checks every mention of the design document in the
// code, configuration and scripts: it is docs/DESIGN.md (the file that a clone holds) and
// names a section that the page has.
func TestDesignReferencesNameASection(t *testing.T) {
	sections := headings(readFile(t, "DESIGN.md"))
	refs := 0
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(mustRel(repoRoot, p))
		if d.IsDir() {
			if rel == "docs" || (rel != "." && strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir // docs/ holds the pages (links checked above) and this checker
			}
			return nil
		}
		if strings.HasSuffix(rel, ".md") || !isText(d.Name()) {
			return nil
		}
		src := readFile(t, p)
		refs += strings.Count(src, "docs/DESIGN.md")
		for _, err := range checkSections(rel, src, sections) {
			t.Error(err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if refs < 25 {
		t.Errorf("found %d references to docs/DESIGN.md in the tree, want the 25 or more that the code makes", refs)
	}
}

func isText(name string) bool {
	switch filepath.Ext(name) {
	case ".go", ".yaml", ".yml", ".sh", ".js", ".html", ".css", ".py", ".s":
		return true
	}
	return name == "Makefile" || name == "Dockerfile"
}

// TestCheckerCatchesWrongNames proves the checker on a fixture tree: every kind of wrong
// reference gives exactly one error naming it, and right ones give none.
func TestCheckerCatchesWrongNames(t *testing.T) {
	tr, err := newTree(filepath.Join("testdata", "fixture"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("right names", func(t *testing.T) {
		md := "Touch `shop/cart.go: Cart, Cart.Add, Cart.Items, NewCart, MaxItems` and\n" +
			"`shop/checkout/pay.go: Pay`; call `shop.Cart.Add`, `shop.Pricer.Price`, `checkout.Pay`,\n" +
			"`a/util.Helper`, `b/util.Other`; see `shop/checkout/`, `DESIGN.md`.\n" +
			"Not references: `shop`, `shaping.mode`, `make test`, `GET /admin/api/dsps`, `dsps[].targeting`.\n" +
			"```\n`shop/gone.go: Nothing`\n```\n"
		errs, n := tr.checkNames(md)
		for _, err := range errs {
			t.Error(err)
		}
		if n.paths != 4 || n.names != 11 {
			t.Errorf("counted %d paths and %d names, want 4 and 11", n.paths, n.names)
		}
	})
	wrong := []struct {
		name, md, want string
	}{
		{"renamed function in its file", "`shop/cart.go: NewBasket`", "NewBasket is not declared in shop/cart.go"},
		{"name in the wrong file", "`shop/checkout/pay.go: Cart`", "Cart is not declared in shop/checkout/pay.go"},
		{"missing method", "`shop/cart.go: Cart.Remove`", "Cart.Remove is not declared"},
		{"missing file in the file form", "`shop/basket.go: Cart`", "file shop/basket.go does not exist"},
		{"renamed function in its package", "`shop.NewBasket`", "NewBasket is not declared in package shop"},
		{"missing field", "`shop.Cart.Count`", "Cart.Count is not declared in package shop"},
		{"missing file", "`shop/basket.go`", "`shop/basket.go`: no such file"},
		{"missing folder", "`shop/refunds`", "no such file or folder"},
		{"unknown package", "`store.Cart`", "no package named store"},
		{"package folder that is none", "`shop/refunds.Refund`", "no Go package in folder shop/refunds"},
		{"ambiguous package name", "`util.Helper`", "several packages are named util (a/util, b/util)"},
		{"not a Go name", "`shop/cart.go: Cart()`", `"Cart()" is not a Go name`},
	}
	for _, c := range wrong {
		t.Run(c.name, func(t *testing.T) {
			errs, _ := tr.checkNames("Edit " + c.md + " first.\n")
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
				t.Errorf("got %v, want one error containing %q", errs, c.want)
			}
		})
	}
}

// TestCheckerCatchesBadSectionsAndLinks proves the section and link checks on fixtures.
func TestCheckerCatchesBadSectionsAndLinks(t *testing.T) {
	sections := headings(readFile(t, filepath.Join("testdata", "fixture", "DESIGN.md")))
	t.Run("sections", func(t *testing.T) {
		good := "// Row is a row (docs/DESIGN.md, \"Bid log\").\n" +
			"// The order (docs/DESIGN.md, \"One auction, step\n// by step\", step 8) holds.\n" +
			"# yaml: docs/DESIGN.md (\"Bid log\")\n" +
			"\tfs.Bool(\"json\", false, \"keys: docs/DESIGN.md, \\\"Bid log\\\"\")\n"
		if errs := checkSections("good.go", good, sections); len(errs) != 0 {
			t.Errorf("good references: %v", errs)
		}
		for _, c := range []struct{ src, want string }{
			{"// see docs/DESIGN.md (\"Bid logs\")", `has no section "Bid logs"`},
			{"// see docs/DESIGN.md for the rest", "without a section"},
			{"// the columns of DESIGN.md (\"Bid log\")", "reference(s) to DESIGN.md outside docs/"},
		} {
			errs := checkSections("bad.go", c.src, sections)
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
				t.Errorf("%q: got %v, want one error containing %q", c.src, errs, c.want)
			}
		}
	})
	t.Run("links", func(t *testing.T) {
		tr, err := newTree(filepath.Join("testdata", "fixture"))
		if err != nil {
			t.Fatal(err)
		}
		good := "[d](DESIGN.md), [s](DESIGN.md#one-auction-step-by-step), [code](shop/cart.go), [web](https://example.com/x.md)"
		if errs := tr.checkLinks("README.md", good); len(errs) != 0 {
			t.Errorf("good links: %v", errs)
		}
		for _, c := range []struct{ md, want string }{
			{"[x](NOWHERE.md)", "NOWHERE.md does not exist"},
			{"[x](DESIGN.md#bid-logs)", "no heading with the anchor #bid-logs"},
			{"# Here\n[x](#there)", "no heading with the anchor #there"},
		} {
			errs := tr.checkLinks("README.md", c.md)
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
				t.Errorf("%q: got %v, want one error containing %q", c.md, errs, c.want)
			}
		}
	})
}
