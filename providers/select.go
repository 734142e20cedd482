package providers

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// UnknownError reports a requested provider name that matches nothing in the
// catalog, with the closest names for the message.
type UnknownError struct {
	Name        string
	Suggestions []string
}

func (e *UnknownError) Error() string {
	msg := fmt.Sprintf("unknown provider %q", e.Name)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + quoteList(e.Suggestions) + "?"
	}
	return msg + " (run `g4fdiag providers` to list them)"
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 1:
		return q[0]
	case 2:
		return q[0] + " or " + q[1]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Select returns the catalog entries named by patterns, in catalog order and
// without duplicates. A pattern is a provider name (matched exactly, then
// case-insensitively) or a glob (path.Match syntax, case-insensitive). No
// patterns selects the whole catalog. A pattern that matches nothing is an
// *UnknownError.
func Select(catalog []Provider, patterns []string) ([]Provider, error) {
	if len(patterns) == 0 {
		return append([]Provider(nil), catalog...), nil
	}
	chosen := make(map[string]bool)
	for _, p := range patterns {
		matched, err := match(catalog, p)
		if err != nil {
			return nil, err
		}
		if len(matched) == 0 {
			return nil, &UnknownError{Name: p, Suggestions: Suggest(catalog, p, 3)}
		}
		for _, name := range matched {
			chosen[name] = true
		}
	}
	var out []Provider
	for _, pr := range catalog {
		if chosen[pr.Name] {
			out = append(out, pr)
		}
	}
	return out, nil
}

func match(catalog []Provider, pattern string) ([]string, error) {
	for _, pr := range catalog {
		if pr.Name == pattern {
			return []string{pr.Name}, nil
		}
	}
	lower := strings.ToLower(pattern)
	if _, err := path.Match(lower, ""); err != nil {
		return nil, fmt.Errorf("bad provider pattern %q: %v", pattern, err)
	}
	var names []string
	for _, pr := range catalog {
		if ok, _ := path.Match(lower, strings.ToLower(pr.Name)); ok {
			names = append(names, pr.Name)
		}
	}
	return names, nil
}

// Suggest returns up to n catalog names closest to name: names containing it
// first, then by edit distance, ignoring case; names too far off are left out.
func Suggest(catalog []Provider, name string, n int) []string {
	type scored struct {
		name  string
		score int
	}
	target := strings.ToLower(strings.Trim(name, "*?[]"))
	var cands []scored
	for _, pr := range catalog {
		cand := strings.ToLower(pr.Name)
		d := EditDistance(target, cand)
		if target != "" && (strings.Contains(cand, target) || strings.Contains(target, cand)) {
			d = 0
		}
		limit := max(2, len(target)/2)
		if d <= limit {
			cands = append(cands, scored{pr.Name, d})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score < cands[j].score
		}
		return cands[i].name < cands[j].name
	})
	out := make([]string, 0, n)
	for _, c := range cands {
		if len(out) == n {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// EditDistance is the Levenshtein distance of a and b, a swap of two
// neighbours counting one edit (a typo's usual shape): what suggestions for
// a mistyped name (a provider, a command, a flag) are ranked by.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
