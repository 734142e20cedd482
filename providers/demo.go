package providers

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// demoFS holds the miniature g4f: a small Python package with g4f's public
// surface and one provider per failure mechanism.
//
//go:embed all:demo
var demoFS embed.FS

// WriteDemo writes the miniature g4f under dir, so that dir is the directory
// to put on PYTHONPATH, and returns dir.
func WriteDemo(dir string) (string, error) {
	err := fs.WalkDir(demoFS, "demo", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("demo", filepath.FromSlash(p))
		if err != nil {
			return err
		}
		if d.Name() == "__pycache__" {
			return fs.SkipDir
		}
		target := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := demoFS.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("writing the demo g4f: %w", err)
	}
	return dir, nil
}
