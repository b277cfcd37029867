package docs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// The checker of the names a document gives to code. It reads the code spans of a Markdown
// text and recognises three forms (CONTRIBUTING.md explains them to its readers):
//
//	`dir/file.go: Name, Type.Member`  the file exists and declares each name
//	`pkg.Name`, `dir/pkg.Type.Member`  the package declares the name (non-test files)
//	`dir/file.ext`, `dir/folder`       the path exists
//
// Paths are relative to the repository root. A package is named by its package name when
// that is unique in the tree, else by its folder. Spans that fit none of the forms (config
// keys, commands, URLs) are not references; an all-lower-case span whose first part is no
// package (`shaping.mode`) is taken for a config key, one with an upper-case part
// (`featurs.Extract`) is a reference to a package that does not exist.

// refs counts what a check looked at, so that a test can tell a page that names nothing
// from one whose names all exist.
type refs struct {
	paths, names int
}

// tree indexes the Go packages under a repository root, parsing lazily.
type tree struct {
	root   string
	byName map[string][]string            // package name -> folders (slash-separated, relative)
	pkgs   map[string]bool                // folders holding non-test Go files
	decls  map[string]map[string]struct{} // folder or file -> declared names
	fset   *token.FileSet
}

func newTree(root string) (*tree, error) {
	t := &tree{root: root, byName: map[string][]string{}, pkgs: map[string]bool{}, decls: map[string]map[string]struct{}{}, fset: token.NewFileSet()}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(mustRel(root, filepath.Dir(p)))
		if t.pkgs[dir] {
			return nil
		}
		f, err := parser.ParseFile(t.fset, p, nil, parser.PackageClauseOnly)
		if err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		t.pkgs[dir] = true
		t.byName[f.Name.Name] = append(t.byName[f.Name.Name], dir)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", root, err)
	}
	return t, nil
}

func mustRel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		panic(err) // p comes from walking root
	}
	return r
}

// fileDecls returns the names declared in one Go file (relative slash path).
func (t *tree) fileDecls(rel string) (map[string]struct{}, error) {
	if d, ok := t.decls[rel]; ok {
		return d, nil
	}
	f, err := parser.ParseFile(t.fset, filepath.Join(t.root, filepath.FromSlash(rel)), nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", rel, err)
	}
	d := map[string]struct{}{}
	addDecls(f, d)
	t.decls[rel] = d
	return d, nil
}

// pkgDecls returns the names declared in the non-test files of a package folder.
func (t *tree) pkgDecls(dir string) (map[string]struct{}, error) {
	key := dir + "/"
	if d, ok := t.decls[key]; ok {
		return d, nil
	}
	entries, err := os.ReadDir(filepath.Join(t.root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, fmt.Errorf("read package %s: %w", dir, err)
	}
	d := map[string]struct{}{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		fd, err := t.fileDecls(path.Join(dir, n))
		if err != nil {
			return nil, err
		}
		for k := range fd {
			d[k] = struct{}{}
		}
	}
	t.decls[key] = d
	return d, nil
}

// addDecls records the top-level names of f: functions, types, constants and variables by
// their name; methods as Type.Method; struct fields and interface methods as Type.Member.
func addDecls(f *ast.File, d map[string]struct{}) {
	for _, decl := range f.Decls {
		switch x := decl.(type) {
		case *ast.FuncDecl:
			if x.Recv == nil || len(x.Recv.List) == 0 {
				d[x.Name.Name] = struct{}{}
				continue
			}
			if recv := receiverName(x.Recv.List[0].Type); recv != "" {
				d[recv+"."+x.Name.Name] = struct{}{}
			}
		case *ast.GenDecl:
			for _, spec := range x.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					d[s.Name.Name] = struct{}{}
					addMembers(s.Name.Name, s.Type, d)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						d[n.Name] = struct{}{}
					}
				}
			}
		}
	}
}

func addMembers(typ string, e ast.Expr, d map[string]struct{}) {
	var list *ast.FieldList
	switch x := e.(type) {
	case *ast.StructType:
		list = x.Fields
	case *ast.InterfaceType:
		list = x.Methods
	default:
		return
	}
	for _, f := range list.List {
		for _, n := range f.Names {
			d[typ+"."+n.Name] = struct{}{}
		}
		if len(f.Names) == 0 { // embedded
			if n := receiverName(f.Type); n != "" {
				d[typ+"."+n] = struct{}{}
			}
		}
	}
}

// receiverName is the type name of a receiver or embedded field: T, *T, T[P], pkg.T.
func receiverName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.StarExpr:
		return receiverName(x.X)
	case *ast.IndexExpr:
		return receiverName(x.X)
	case *ast.IndexListExpr:
		return receiverName(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}

var (
	fenceRE    = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
	spanRE     = regexp.MustCompile("`([^`]+)`")
	fileFormRE = regexp.MustCompile(`^([\w./-]+\.go):\s*(.+)$`)
	goNameRE   = regexp.MustCompile(`^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$`)
	qualRE     = regexp.MustCompile(`^((?:[a-z][a-z0-9_]*/)*[a-z][a-z0-9_]*)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)$`)
	extRE      = regexp.MustCompile(`\.(go|md|yaml|yml|js|html|css|sh|json|golden|mod|sum|png|s)$`)
	pathRE     = regexp.MustCompile(`^[\w.-]+(/[\w.-]+)*/?$`)
)

// spans returns the code spans of a Markdown text outside fenced blocks, a span broken
// over lines joined with a space.
func spans(md string) []string {
	md = fenceRE.ReplaceAllString(md, "")
	var out []string
	for _, m := range spanRE.FindAllStringSubmatch(md, -1) {
		out = append(out, strings.Join(strings.Fields(m[1]), " "))
	}
	return out
}

// checkNames checks every reference to code in md against the tree. It returns one error
// per reference that does not resolve, and what it looked at.
func (t *tree) checkNames(md string) ([]error, refs) {
	var errs []error
	var n refs
	for _, s := range spans(md) {
		if m := fileFormRE.FindStringSubmatch(s); m != nil {
			n.paths++
			file := m[1]
			if !t.exists(file) {
				errs = append(errs, fmt.Errorf("`%s`: file %s does not exist", s, file))
				continue
			}
			decls, err := t.fileDecls(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("`%s`: %w", s, err))
				continue
			}
			for _, name := range strings.Split(m[2], ",") {
				name = strings.TrimSpace(name)
				n.names++
				if !goNameRE.MatchString(name) {
					errs = append(errs, fmt.Errorf("`%s`: %q is not a Go name (write Name or Type.Member)", s, name))
				} else if _, ok := decls[name]; !ok {
					errs = append(errs, fmt.Errorf("`%s`: %s is not declared in %s", s, name, file))
				}
			}
			continue
		}
		if strings.Contains(s, " ") || strings.HasPrefix(s, "/") || strings.Contains(s, "://") {
			continue // a command, a URL path, a YAML fragment
		}
		if extRE.MatchString(s) && pathRE.MatchString(s) {
			n.paths++
			if !t.exists(s) {
				errs = append(errs, fmt.Errorf("`%s`: no such file", s))
			}
			continue
		}
		if m := qualRE.FindStringSubmatch(s); m != nil {
			if err, counted := t.checkQualified(s, m[1], m[2]); counted {
				n.names++
				if err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if strings.Contains(s, "/") && pathRE.MatchString(s) {
			n.paths++
			if !t.exists(s) {
				errs = append(errs, fmt.Errorf("`%s`: no such file or folder", s))
			}
		}
	}
	return errs, n
}

// checkQualified checks pkg.Name; counted is false for a span that is no reference (a
// config key such as shaping.mode).
func (t *tree) checkQualified(span, qual, name string) (err error, counted bool) {
	var dir string
	switch dirs := t.byName[qual]; {
	case strings.Contains(qual, "/"):
		if !t.pkgs[qual] {
			return fmt.Errorf("`%s`: no Go package in folder %s", span, qual), true
		}
		dir = qual
	case len(dirs) == 1:
		dir = dirs[0]
	case len(dirs) > 1:
		slices.Sort(dirs)
		return fmt.Errorf("`%s`: several packages are named %s (%s): write the folder, as in %s.%s", span, qual, strings.Join(dirs, ", "), dirs[0], name), true
	case strings.IndexFunc(name, unicode.IsUpper) >= 0:
		return fmt.Errorf("`%s`: no package named %s", span, qual), true
	default:
		return nil, false
	}
	decls, err := t.pkgDecls(dir)
	if err != nil {
		return fmt.Errorf("`%s`: %w", span, err), true
	}
	if _, ok := decls[name]; !ok {
		return fmt.Errorf("`%s`: %s is not declared in package %s (folder %s)", span, name, qual, dir), true
	}
	return nil, true
}

func (t *tree) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(t.root, filepath.FromSlash(strings.TrimSuffix(rel, "/"))))
	return err == nil
}

// Links and sections.

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	slugDrop  = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// headings returns the headings of a Markdown text outside fenced blocks.
func headings(md string) []string {
	var out []string
	for _, m := range headingRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(md, ""), -1) {
		out = append(out, m[1])
	}
	return out
}

// slug is the anchor GitHub gives a heading.
func slug(h string) string {
	h = strings.ReplaceAll(h, "`", "")
	return strings.ReplaceAll(slugDrop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")
}

// checkLinks checks the relative links of the Markdown file at rel (slash path from the
// root, text md): the target exists, and an anchor names a heading of the target.
func (t *tree) checkLinks(rel, md string) []error {
	var errs []error
	for _, m := range linkRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(md, ""), -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		file, anchor, _ := strings.Cut(target, "#")
		text := md
		if file != "" {
			p := path.Clean(path.Join(path.Dir(rel), file))
			if !t.exists(p) {
				errs = append(errs, fmt.Errorf("%s: link %s: %s does not exist", rel, target, p))
				continue
			}
			if anchor == "" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(t.root, filepath.FromSlash(p)))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: link %s: %w", rel, target, err))
				continue
			}
			text = string(b)
		}
		if anchor == "" {
			continue
		}
		if !slices.ContainsFunc(headings(text), func(h string) bool { return slug(h) == anchor }) {
			errs = append(errs, fmt.Errorf("%s: link %s: no heading with the anchor #%s", rel, target, anchor))
		}
	}
	return errs
}

// designRefRE finds a reference to the design document and the section quoted after it,
// in a comment that may go on over the next line ("// " or "# " continuations joined).
var (
	designRefRE  = regexp.MustCompile(`docs/DESIGN\.md`)
	sectionRE    = regexp.MustCompile(`^,?\s*\(?\\?"([^"\\]+)\\?"`)
	continuation = regexp.MustCompile(`\s*\n\s*(//|#)?\s*`)
)

// checkSections checks the references to docs/DESIGN.md in the text of a source file: each
// must quote a section, and the section must be a heading of the design document. A bare
// "DESIGN.md" (the file outside the repository that these pages replace) is an error too.
func checkSections(rel, src string, sections []string) []error {
	var errs []error
	for _, loc := range designRefRE.FindAllStringIndex(src, -1) {
		rest := src[loc[1]:min(len(src), loc[1]+200)]
		rest = continuation.ReplaceAllString(rest, " ")
		line := 1 + strings.Count(src[:loc[0]], "\n")
		m := sectionRE.FindStringSubmatch(rest)
		switch {
		case m == nil:
			errs = append(errs, fmt.Errorf("%s:%d: docs/DESIGN.md without a section: write docs/DESIGN.md, \"Section\"", rel, line))
		case !slices.Contains(sections, m[1]):
			errs = append(errs, fmt.Errorf("%s:%d: docs/DESIGN.md has no section %q", rel, line, m[1]))
		}
	}
	bare := strings.Count(src, "DESIGN.md") - len(designRefRE.FindAllStringIndex(src, -1))
	if bare > 0 {
		errs = append(errs, fmt.Errorf("%s: %d reference(s) to DESIGN.md outside docs/: write docs/DESIGN.md, \"Section\"", rel, bare))
	}
	return errs
}
