package render

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/g4fdiag/g4fdiag/diag"
	"github.com/g4fdiag/g4fdiag/diag/report"
)

// renderGitHub writes the report as GitHub Actions workflow commands
// (docs.github.com/actions/reference/workflow-commands-for-github-actions),
// which the runner turns into annotations on the run. What is an error is
// what the run's gate (report.Gate) fails, so the annotations and the exit
// code tell one story:
//
//   - one ::notice with the summary line and what fails the run, first, so
//     the per-job annotation limit never drops it;
//   - one ::error per cell that fails the run: a cell in the --fail-on set
//     (by default the cells that fail like the documented loop conflict)
//     or, with --baseline, a new failure. It says provider, mode/loop,
//     class, signature, evidence, frame, the remedy and what the remedies
//     tried did. GitHub shows ten error annotations per step, so the first
//     cell of each kind of failure (provider, class, signature) comes first
//     and the repeats after;
//   - one ::warning per cell that fails as it did in the baseline (still
//     failing: it does not fail the run), and per cell outside the set that
//     hung, stalled, crashed, broke the API protocol or was flaky without a
//     loop class among its calls: it can hide a loop failure;
//   - one ::notice per cell that failed in the baseline and is fixed now;
//   - nothing for other failures outside the set (network, auth,
//     provider-error, missing requirements, unknown provider) or cells that
//     did not run: an offline CI would bury the loop errors under them. The
//     summary notice counts them; the job summary (GitHubSummary) lists them.
//
// Errors and warnings carry file= and line= when the failure has a place in
// code a repository can hold (codeLocation). Every message and property is
// escaped as the runner expects, so no text of a provider can end the
// command or start another one.
func renderGitHub(w io.Writer, r report.Report, _ Options) error {
	gv := newGateView(r)
	var b bytes.Buffer
	writeWorkflowCommand(&b, "notice", diag.OrDefault(diag.SingleLine(r.Tool), "g4fdiag")+" summary", gitHubSummaryLine(r)+". "+gv.line())
	var firsts, repeats []diag.CellReport
	seen := map[string]bool{}
	for _, c := range r.Cells {
		if gv.standing(c) != standingFails {
			continue
		}
		key := strings.Join([]string{c.Provider, string(c.Class), c.Signature}, "\x00")
		if seen[key] {
			repeats = append(repeats, c)
			continue
		}
		seen[key] = true
		firsts = append(firsts, c)
	}
	for _, c := range append(firsts, repeats...) {
		writeWorkflowCommand(&b, "error"+gitHubLocation(c), gitHubTitle(c), gitHubMessage(c))
	}
	for _, c := range r.Cells {
		switch st := gv.standing(c); {
		case st == standingStill:
			writeWorkflowCommand(&b, "warning"+gitHubLocation(c), "still failing: "+gitHubTitle(c),
				gitHubMessage(c)+"\nbaseline: it failed there too, so it does not fail the run ("+gv.line()+")")
		case st == standingPass && c.Failing() && c.Class.GitHubWarns():
			writeWorkflowCommand(&b, "warning"+gitHubLocation(c), gitHubTitle(c), gitHubMessage(c))
		}
	}
	for _, c := range r.Cells {
		if gv.standing(c) != standingFixed {
			continue
		}
		was := gv.fixed[c.Key()]
		writeWorkflowCommand(&b, "notice", fmt.Sprintf("fixed: %s %s/%s", diag.SingleLine(c.Provider), diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop))),
			fmt.Sprintf("%s: fixed since the baseline, where it failed as %s; now %s", was.String(), diag.SingleLine(string(was.Class)), diag.SingleLine(string(c.Class))))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// gitHubSummaryLine is the summary on one line: loop failures, the conflict,
// the counts per class and the likely cause.
func gitHubSummaryLine(r report.Report) string {
	s := r.Summary
	var counts []string
	for _, c := range diag.OrderedClasses(s.Counts) {
		counts = append(counts, fmt.Sprintf("%d %s", s.Counts[c], diag.SingleLine(string(c))))
	}
	line := fmt.Sprintf("loop failures in %d of %d cell%s; documented loop conflict reproduced in %d", s.LoopFailures, s.Cells, diag.Plural(s.Cells), s.Conflict)
	if len(counts) > 0 {
		line += " (" + strings.Join(counts, ", ") + ")"
	}
	line += ". Likely cause: " + diag.SingleLine(s.LikelyCause)
	if r.Interrupted {
		line += ". Interrupted: " + s.InterruptedNote()
	}
	return line
}

// gitHubTitle is an annotation's title: "loop-reentry: AsyncGenHealthy
// sync/uvloop".
func gitHubTitle(c diag.CellReport) string {
	return fmt.Sprintf("%s: %s %s/%s", diag.SingleLine(string(c.Class)), diag.SingleLine(c.Provider), diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop)))
}

// gitHubMessage is an annotation's text, one fact a line.
func gitHubMessage(c diag.CellReport) string {
	lines := []string{fmt.Sprintf("%s %s/%s: %s [%s] %s", diag.SingleLine(c.Provider), diag.SingleLine(string(c.Mode)), diag.SingleLine(string(c.Loop)),
		diag.SingleLine(string(c.Class)), diag.SingleLine(c.Signature), diag.SingleLine(c.Evidence))}
	add := func(name, value string) {
		if value != "" {
			lines = append(lines, name+": "+value)
		}
	}
	add("frame", diag.SingleLine(c.Frame))
	add("your code", userFrameText(c.User))
	add("remedy", diag.SingleLine(c.Remedy))
	if len(c.Remedies) > 0 {
		parts := make([]string, len(c.Remedies))
		for i, res := range c.Remedies {
			parts[i] = diag.SingleLine(string(res.Remedy)) + ": " + remedyOutcomeText(c, res)
		}
		add("remedies tried", strings.Join(parts, "; "))
	}
	return strings.Join(lines, "\n")
}

// gitHubLocation is the " file=F,line=N" an annotation carries to sit on
// the line of code where the cell failed (codeLocation): the user's own,
// or else g4f's.
func gitHubLocation(c diag.CellReport) string {
	file, line, ok := codeLocation(c)
	if !ok {
		return ""
	}
	return " file=" + escapeWorkflowProperty(file) + ",line=" + strconv.Itoa(line)
}

// writeWorkflowCommand writes "::command title=...::message" on one line;
// command may carry properties (" file=F,line=N"), title is one more.
func writeWorkflowCommand(b *bytes.Buffer, command, title, message string) {
	b.WriteString("::" + command)
	if title != "" {
		sep := " "
		if strings.Contains(command, " ") {
			sep = ","
		}
		b.WriteString(sep + "title=" + escapeWorkflowProperty(title))
	}
	b.WriteString("::" + escapeWorkflowData(message) + "\n")
}

// escapeWorkflowData escapes a workflow command's message the way the
// runner unescapes it: % first, then carriage return and newline, so the
// message stays on the command's line whatever it holds. Text is cleaned
// (no terminal sequences, no secrets) first.
func escapeWorkflowData(s string) string {
	s = diag.Clean(s)
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// escapeWorkflowProperty escapes a property value: as a message, and also
// ':' and ',', which would end the value.
func escapeWorkflowProperty(s string) string {
	s = escapeWorkflowData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// gitHubSummaryLimit bounds the cells GitHubSummary lists in each of its two
// lists; the matrix shows them all.
const gitHubSummaryLimit = 50

// GitHubSummary is the report as a Markdown job summary for
// $GITHUB_STEP_SUMMARY: the markdown report's opening line, environment in
// one line, matrix and summary, then the failing cells one line each — loop
// failures, then the others folded away. The full evidence stays in
// --format markdown and g4fdiag repro.
func GitHubSummary(r report.Report) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", MarkdownText(diag.OrDefault(diag.SingleLine(r.Tool), "g4fdiag")))
	writeMDIntro(&b, r)
	fmt.Fprintf(&b, "\n**Environment:** %s\n", MarkdownText(environmentLine(r.Environment)))
	writeMDMatrix(&b, r)
	writeMDSummary(&b, r)

	var loop, other []diag.CellReport
	for _, c := range r.Cells {
		switch {
		case c.LoopFailure():
			loop = append(loop, c)
		case c.Failing():
			other = append(other, c)
		}
	}
	writeMDHeading(&b, "Loop failures")
	if len(loop) == 0 {
		b.WriteString("No cell fails like the documented loop conflict.\n")
	} else {
		writeMDCellList(&b, loop)
	}
	if len(other) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>%d other failing cell%s (not loop failures)</summary>\n\n", len(other), diag.Plural(len(other)))
		writeMDCellList(&b, other)
		b.WriteString("\n</details>\n")
	}
	b.WriteString("\nThe evidence of every failing cell: `g4fdiag check --format markdown`, or `g4fdiag repro --provider NAME` for one provider.\n")
	return b.String()
}

// writeMDCellList lists cells one line each, at most gitHubSummaryLimit.
func writeMDCellList(b *bytes.Buffer, cells []diag.CellReport) {
	for i, c := range cells {
		if i == gitHubSummaryLimit {
			fmt.Fprintf(b, "- … and %d more\n", len(cells)-i)
			return
		}
		b.WriteString(mdCompactLine(c))
	}
}
