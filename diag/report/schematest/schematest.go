package schematest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The schema files, in docs/ at the module root.
const (
	ReportFile = "report.schema.json"
	JSONLFile  = "report-jsonl.schema.json"
)

// Schemas are the compiled report schemas.
type Schemas struct {
	Report *jsonschema.Schema
	JSONL  *jsonschema.Schema
	// Docs are the schema documents as decoded, by file name, for tests
	// that read the schemas themselves (their enums).
	Docs map[string]any
}

var compiled struct {
	once sync.Once
	s    *Schemas
	err  error
}

// Load compiles the schemas once; formats (date-time) are asserted.
func Load() (*Schemas, error) {
	compiled.once.Do(func() { compiled.s, compiled.err = load() })
	return compiled.s, compiled.err
}

// DocsDir finds docs/ beside go.mod, walking up from the working directory
// (a test runs in its package's directory).
func DocsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "docs"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("schematest: no go.mod above the working directory")
		}
		dir = parent
	}
}

func load() (*Schemas, error) {
	dir, err := DocsDir()
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	docs := map[string]any{}
	ids := map[string]string{}
	for _, name := range []string{ReportFile, JSONLFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if !strings.HasSuffix(id, "/"+name) {
			return nil, fmt.Errorf("%s: $id %q does not end in the file's name", name, id)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		docs[name], ids[name] = doc, id
	}
	s := &Schemas{Docs: docs}
	if s.Report, err = c.Compile(ids[ReportFile]); err != nil {
		return nil, err
	}
	if s.JSONL, err = c.Compile(ids[JSONLFile]); err != nil {
		return nil, err
	}
	return s, nil
}

// ValidateJSON validates a JSON report.
func (s *Schemas) ValidateJSON(data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Report.Validate(inst)
}

// ValidateJSONL validates a JSON-lines stream: every line against the line
// schema, and the stream's shape, which no one line can say: one header
// first, observations, and at most one end record, last, counting them.
// With whole false the stream may lack its end record (a scan cut short).
func (s *Schemas) ValidateJSONL(data []byte, whole bool) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	var (
		n, obs      int
		header, end bool
	)
	for sc.Scan() {
		n++
		line := sc.Bytes()
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
		if err != nil {
			return fmt.Errorf("line %d: not JSON: %w", n, err)
		}
		if err := s.JSONL.Validate(inst); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		var rec struct {
			Record       string `json:"record"`
			Observations int    `json:"observations"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		switch {
		case end:
			return fmt.Errorf("line %d: a %s record after the end record", n, rec.Record)
		case rec.Record == "header" && n != 1:
			return fmt.Errorf("line %d: a header record that is not the first line", n)
		case rec.Record != "header" && n == 1:
			return fmt.Errorf("line 1: a %s record, want the header", rec.Record)
		case rec.Record == "header":
			header = true
		case rec.Record == "observation":
			obs++
		case rec.Record == "end":
			if rec.Observations != obs {
				return fmt.Errorf("line %d: the end record counts %d observations, the stream has %d", n, rec.Observations, obs)
			}
			end = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	switch {
	case !header:
		return errors.New("no header record")
	case whole && !end:
		return errors.New("no end record: the stream was cut short")
	}
	return nil
}
