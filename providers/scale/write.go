package scale

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/g4fdiag/g4fdiag/providers"
)

// pythonFS holds the templates of the provider modules and the helper
// module they share.
//
//go:embed python/*.tmpl python/_support.py
var pythonFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"py":     pyString,
	"pylist": pyList,
	"pybool": pyBool,
}).ParseFS(pythonFS, "python/*.tmpl"))

// modelNames are the default models handed out in turn: names of the kind
// real providers list, so catalogs and reports look like real ones. They
// are class attributes only; nothing serves them.
var modelNames = []string{
	"gpt-4o-mini", "gpt-4o", "llama-3.1-70b", "mixtral-8x7b", "claude-3-haiku",
	"gemini-flash", "qwen-2-72b", "blackboxai", "command-r-plus", "phi-3.5-mini",
}

// requirements are the optional packages missing-requirements providers ask
// for in turn, as g4f's own providers do.
var requirements = []string{"curl_cffi", "nodriver", "browser_cookie3", "undetected_chromedriver", "camoufox", "zendriver"}

// module is what a provider's template reads.
type module struct {
	Name          string
	Kind          *Kind
	URL, Label    string
	Model, Model2 string
	Models        []string
	Requirement   string
}

// Write writes the scale fixture under dir — the demo's miniature g4f with
// its providers replaced by the generated ones — so that dir is the
// directory to put on PYTHONPATH, and returns dir. The same table gives the
// same bytes on every run.
func Write(dir string) (string, error) {
	if _, err := providers.WriteDemo(dir); err != nil {
		return "", err
	}
	if err := writeProviders(filepath.Join(dir, "g4f", "Provider")); err != nil {
		return "", fmt.Errorf("writing the scale fixture: %w", err)
	}
	return dir, nil
}

// writeProviders replaces the demo's providers in pdir with the generated
// modules, the shared helper and the package's __init__.py.
func writeProviders(pdir string) error {
	if err := os.RemoveAll(pdir); err != nil {
		return err
	}
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return err
	}
	support, err := pythonFS.ReadFile("python/_support.py")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pdir, "_support.py"), support, 0o644); err != nil {
		return err
	}
	ps := Providers()
	for i, p := range ps {
		src, err := render(p.Kind.template+".py.tmpl", moduleOf(p, i))
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		if err := os.WriteFile(filepath.Join(pdir, p.Name+".py"), src, 0o644); err != nil {
			return err
		}
	}
	src, err := render("__init__.py.tmpl", struct{ Providers []Provider }{ps})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(pdir, "__init__.py"), src, 0o644)
}

// moduleOf fills a provider's template data; i is its place in the
// fixture, which picks its models.
func moduleOf(p Provider, i int) module {
	m := module{
		Name:   p.Name,
		Kind:   p.Kind,
		URL:    "http://127.0.0.1/" + strings.ToLower(p.Name),
		Label:  p.Name + " (scale fixture)",
		Model:  modelNames[i%len(modelNames)],
		Model2: modelNames[(i+1)%len(modelNames)],
	}
	m.Models = []string{m.Model, m.Model2}
	m.Requirement = p.Kind.requirement
	if m.Requirement == "" {
		m.Requirement = requirements[(p.Index-1)%len(requirements)]
	}
	return m
}

func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pyString is s as a Python string literal: JSON's quoting is Python's for
// the ASCII the table holds.
func pyString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

func pyList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = pyString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
