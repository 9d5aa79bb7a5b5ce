package tcpstate

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// TestVocabulary checks that every note the tracker gives a segment and
// every argument name it adds is in the snapshots' vocabulary, read from
// the source: a word missing would still be kept, spelt out in every
// snapshot.
func TestVocabulary(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var words []string
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec: // const NoteX Note = "..."
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Note" {
					for _, v := range n.Values {
						if lit, ok := v.(*ast.BasicLit); ok {
							s, _ := strconv.Unquote(lit.Value)
							words = append(words, s)
						}
					}
				}
			case *ast.CallExpr: // c.addArg(seg, "key", v)
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "addArg" && len(n.Args) == 3 {
					if lit, ok := n.Args[1].(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						words = append(words, s)
					}
				}
			}
			return true
		})
	}
	if len(words) < 20 {
		t.Fatalf("found only %d notes and argument names in the source", len(words))
	}
	for _, w := range words {
		if _, ok := vocabIndex[w]; !ok {
			t.Errorf("%q is not in the snapshots' vocabulary", w)
		}
	}
}
