package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
	"gopkg.in/yaml.v3"
)

// workflowFile is the example CI workflow of docs/ci.
var workflowFile = filepath.Join("..", "..", "docs", "ci", "github-actions.yml")

// workflow is the part of a GitHub Actions workflow the test reads.
type workflow struct {
	Jobs map[string]workflowJob `yaml:"jobs"`
}

type workflowJob struct {
	Needs    stringList `yaml:"needs"`
	Strategy struct {
		Matrix map[string][]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []struct {
		Uses string            `yaml:"uses"`
		Run  string            `yaml:"run"`
		With map[string]string `yaml:"with"`
	} `yaml:"steps"`
}

// stringList is a needs: value, a job or a list of them.
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var list []string
	err := n.Decode(&list)
	*s = list
	return err
}

// g4fdiagCommand is one g4fdiag command line of a run: step, its arguments
// (program name dropped) up to the first shell operator.
type g4fdiagCommand struct {
	job  string
	args []string
}

var continuation = regexp.MustCompile(`\\\n\s*`)

// commands lists the g4fdiag command lines of a job's run: steps, with
// ${{ matrix.KEY }} replaced by value.
func commands(name string, job workflowJob, key, value string) []g4fdiagCommand {
	var out []g4fdiagCommand
	for _, st := range job.Steps {
		text := continuation.ReplaceAllString(st.Run, "")
		if key != "" {
			text = regexp.MustCompile(`\$\{\{\s*matrix\.`+regexp.QuoteMeta(key)+`\s*\}\}`).ReplaceAllString(text, value)
		}
		for _, line := range strings.Split(text, "\n") {
			fields := strings.Fields(line)
			at := slices.IndexFunc(fields, func(f string) bool { return filepath.Base(f) == "g4fdiag" })
			if at < 0 {
				continue
			}
			var args []string
			for _, f := range fields[at+1:] {
				if slices.Contains([]string{"|", "||", "&&", ">", ">>", ";"}, f) {
					break
				}
				args = append(args, strings.Trim(f, `"'`))
			}
			out = append(out, g4fdiagCommand{job: name, args: args})
		}
	}
	return out
}

// flagValues returns the values of --name and its aliases in args.
func flagValues(args []string, names ...string) []string {
	var out []string
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				out = append(out, args[i+1])
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// flagValue returns the last value of --name or its aliases in args.
func flagValue(args []string, names ...string) string {
	vs := flagValues(args, names...)
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// outputs maps each file a command's --output values write to its format:
// FORMAT=FILE, or a plain FILE in the --format.
func outputs(args []string) map[string]string {
	format := flagValue(args, "--format", "-f")
	if format == "" {
		format = "table"
	}
	out := map[string]string{}
	for _, v := range flagValues(args, "--output", "-o") {
		if f, path, ok := strings.Cut(v, "="); ok && isFormat(f) {
			out[path] = f
			continue
		}
		out[v] = format
	}
	return out
}

// inDir moves an --output value's file into dir, so running a workflow's
// command writes nothing beside the test; stdout stays stdout.
func inDir(v, dir string) string {
	if f, path, ok := strings.Cut(v, "="); ok && isFormat(f) {
		if path == "-" {
			return v
		}
		return f + "=" + filepath.Join(dir, path)
	}
	if v == "-" {
		return v
	}
	return filepath.Join(dir, v)
}

// relocated returns args with every --output file moved into dir.
func relocated(args []string, dir string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == "--output" || out[i] == "-o" {
			out[i+1] = inDir(out[i+1], dir)
			i++
		}
	}
	return out
}

// TestWorkflowShards checks the example workflow: its matrix runs shards
// 1/4..4/4 exactly once each, every shard's report is uploaded under its own
// name, and the merge job runs after the scans and merges all four —
// checked by running its merge commands on four shard reports.
func TestWorkflowShards(t *testing.T) {
	data, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", workflowFile, err)
	}

	var scanJob string
	var shards []scan.Shard
	var reports []string // the files the check commands write
	for name, job := range wf.Jobs {
		values := job.Strategy.Matrix["shard"]
		for _, v := range values {
			value := fmt.Sprint(v)
			var checks []g4fdiagCommand
			for _, c := range commands(name, job, "shard", value) {
				if len(c.args) > 0 && c.args[0] == "check" {
					checks = append(checks, c)
				}
			}
			if len(checks) != 1 {
				t.Fatalf("job %s, shard %s: %d g4fdiag check commands, want 1", name, value, len(checks))
			}
			scanJob = name
			args := checks[0].args
			s, err := scan.ParseShard(flagValue(args, "--shard"))
			if err != nil {
				t.Fatalf("job %s, matrix shard %s: --shard %q: %v", name, value, flagValue(args, "--shard"), err)
			}
			shards = append(shards, s)
			var out string // the report merge reads
			for path, format := range outputs(args) {
				if format == "json" || format == "jsonl" {
					out = path
				}
				uploaded := false
				for _, st := range job.Steps {
					paths := strings.ReplaceAll(st.With["path"], "${{ matrix.shard }}", value)
					uploaded = uploaded || (strings.HasPrefix(st.Uses, "actions/upload-artifact@") && slices.Contains(strings.Fields(paths), path))
				}
				if !uploaded {
					t.Errorf("shard %s: no upload-artifact step uploads %s", s, path)
				}
			}
			if out == "" || slices.Contains(reports, out) {
				t.Errorf("shard %s writes its json report to %q: each shard needs a file of its own", s, out)
			}
			reports = append(reports, out)
			// The flags parse: the scan stops at the interpreter, not at
			// an unknown or malformed flag.
			code, _, stderr := run(t, os.Environ(), append(relocated(args, t.TempDir()), "--python", "/nonexistent/python3")...)
			if code != exitEnv || !strings.Contains(stderr, "/nonexistent/python3") {
				t.Errorf("shard %s: g4fdiag %s: exit %d, %s; want its flags accepted", s, strings.Join(args, " "), code, stderr)
			}
		}
	}
	var got []string
	for _, s := range shards {
		got = append(got, s.String())
	}
	slices.Sort(got)
	if want := []string{"1/4", "2/4", "3/4", "4/4"}; !slices.Equal(got, want) {
		t.Fatalf("the matrix runs shards %v, want %v", got, want)
	}

	// Four shard reports under the names the scans write, for the merge
	// commands to read.
	dir := t.TempDir()
	for i, s := range shards {
		writeReport(t, filepath.Join(dir, reports[i]), s, []scan.Mode{scan.ModeSync, scan.ModeAsync}, "A", "B", "C")
	}
	merges := 0
	checked := map[string]bool{} // merge jobs whose needs and downloads were checked
	for name, job := range wf.Jobs {
		for _, c := range commands(name, job, "", "") {
			if len(c.args) == 0 || c.args[0] != "merge" {
				continue
			}
			merges++
			if !checked[name] {
				checked[name] = true
				if !slices.Contains(job.Needs, scanJob) {
					t.Errorf("job %s merges but does not need %s", name, scanJob)
				}
				downloads := false
				for _, st := range job.Steps {
					downloads = downloads || (strings.HasPrefix(st.Uses, "actions/download-artifact@") && st.With["pattern"] != "")
				}
				if !downloads {
					t.Errorf("job %s merges without downloading the shards' artifacts", name)
				}
			}
			args := []string{"merge"}
			var files []string
			for i := 1; i < len(c.args); i++ {
				a := c.args[i]
				switch {
				case a == "--format" || a == "-f":
					args = append(args, a, c.args[i+1])
					i++
				case a == "--output" || a == "-o":
					args = append(args, a, inDir(c.args[i+1], dir))
					i++
				case strings.HasPrefix(a, "-"):
					args = append(args, a)
				default:
					matched, err := filepath.Glob(filepath.Join(dir, a))
					if err != nil {
						t.Fatal(err)
					}
					files = append(files, matched...)
					args = append(args, matched...)
				}
			}
			for _, r := range reports {
				if !slices.Contains(files, filepath.Join(dir, r)) {
					t.Errorf("job %s: g4fdiag %s does not read %s", name, strings.Join(c.args, " "), r)
				}
			}
			// No job summary from the test, even when it runs in Actions.
			var environ []string
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "GITHUB_STEP_SUMMARY=") {
					environ = append(environ, kv)
				}
			}
			code, _, stderr := run(t, environ, args...)
			if code != exitOK || stderr != "" {
				t.Errorf("job %s: g4fdiag %s on the four shards: exit %d, stderr %q; want 0 and nothing",
					name, strings.Join(c.args, " "), code, stderr)
			}
		}
	}
	if merges == 0 {
		t.Error("no job runs g4fdiag merge")
	}
}
