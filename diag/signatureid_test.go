package diag

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"strconv"
	"strings"
	"testing"
)

// parseDiag parses the package's production files.
func parseDiag(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return fset, files
}

// signatureIDConsts reads the SignatureID constants from the source: name
// to ID.
func signatureIDConsts(t *testing.T, files []*ast.File) map[string]SignatureID {
	t.Helper()
	out := map[string]SignatureID{}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "SignatureID" {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: want a string literal", name.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[name.Name] = SignatureID(v)
				}
			}
		}
	}
	return out
}

// TestSignatureIDsResolve: every SignatureID constant names a row of the
// signature tables, and every row is named by exactly one constant.
func TestSignatureIDsResolve(t *testing.T) {
	t.Parallel()
	_, files := parseDiag(t)
	consts := signatureIDConsts(t, files)
	byID := map[SignatureID]string{}
	for name, id := range consts {
		if _, ok := Lookup(id); !ok {
			t.Errorf("%s = %q names no signature", name, id)
		}
		if other, dup := byID[id]; dup {
			t.Errorf("%s and %s both name %q", other, name, id)
		}
		byID[id] = name
	}
	for _, list := range [][]Signature{Signatures, StateSignatures} {
		for _, s := range list {
			if _, ok := byID[s.ID]; !ok {
				t.Errorf("signature %q has no SignatureID constant", s.ID)
			}
		}
	}
}

// TestNoSignatureIDLiterals: outside the constant declarations, no string
// literal becomes a SignatureID (stateVerdict("stream-staled") would compile
// and fall back to provider-error), and no literal is compared with a
// Signature field, which holds IDs as strings ("" is no signature).
func TestNoSignatureIDLiterals(t *testing.T) {
	t.Parallel()
	fset, files := parseDiag(t)
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	if _, err := conf.Check("github.com/g4fdiag/g4fdiag/diag", fset, files, info); err != nil {
		t.Fatalf("type-check diag: %v", err)
	}
	declared := map[*ast.BasicLit]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "SignatureID" {
					for _, v := range vs.Values {
						if lit, ok := v.(*ast.BasicLit); ok {
							declared[lit] = true
						}
					}
				}
			}
			return true
		})
	}
	signatureField := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Signature"
	}
	isString := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		return ok && lit.Kind == token.STRING && lit.Value != `""`
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				tv, ok := info.Types[n]
				if !ok || declared[n] {
					break
				}
				if named, ok := tv.Type.(*types.Named); ok && named.Obj().Name() == "SignatureID" {
					t.Errorf("%s: the literal %s is used as a SignatureID; use its constant", fset.Position(n.Pos()), n.Value)
				}
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) &&
					(signatureField(n.X) && isString(n.Y) || signatureField(n.Y) && isString(n.X)) {
					t.Errorf("%s: a Signature field is compared with a literal; use its constant", fset.Position(n.Pos()))
				}
			case *ast.SwitchStmt:
				if n.Tag == nil || !signatureField(n.Tag) {
					break
				}
				for _, st := range n.Body.List {
					for _, e := range st.(*ast.CaseClause).List {
						if isString(e) {
							t.Errorf("%s: a Signature field is switched on a literal; use its constant", fset.Position(e.Pos()))
						}
					}
				}
			}
			return true
		})
	}
}
