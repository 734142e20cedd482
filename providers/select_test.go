package providers

import (
	"errors"
	"reflect"
	"testing"
)

var catalog = []Provider{
	{Name: "Blackbox"}, {Name: "BlackboxAPI"}, {Name: "Copilot"}, {Name: "DDG"},
	{Name: "DeepInfra"}, {Name: "GizAI"}, {Name: "OpenaiChat"},
}

func names(ps []Provider) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestSelect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		want     []string
	}{
		{"none selects all", nil, names(catalog)},
		{"exact", []string{"DDG"}, []string{"DDG"}},
		{"case-insensitive", []string{"copilot"}, []string{"Copilot"}},
		{"glob", []string{"Black*"}, []string{"Blackbox", "BlackboxAPI"}},
		{"glob any case", []string{"d*"}, []string{"DDG", "DeepInfra"}},
		{"catalog order, no duplicates", []string{"GizAI", "Blackbox", "Giz*"}, []string{"Blackbox", "GizAI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(catalog, tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got), tt.want) {
				t.Errorf("Select(%q) = %q, want %q", tt.patterns, names(got), tt.want)
			}
		})
	}
}

func TestSelectUnknown(t *testing.T) {
	t.Parallel()
	_, err := Select(catalog, []string{"Blakbox"})
	var unk *UnknownError
	if !errors.As(err, &unk) {
		t.Fatalf("err = %v, want *UnknownError", err)
	}
	if want := []string{"Blackbox"}; !reflect.DeepEqual(unk.Suggestions, want) {
		t.Errorf("suggestions = %q, want %q", unk.Suggestions, want)
	}
	const msg = `unknown provider "Blakbox"; did you mean "Blackbox"? (run ` + "`g4fdiag providers`" + ` to list them)`
	if err.Error() != msg {
		t.Errorf("message:\n got %s\nwant %s", err.Error(), msg)
	}
}

func TestSelectUnknownNoSuggestion(t *testing.T) {
	t.Parallel()
	_, err := Select(catalog, []string{"Zzzzzzzzzz"})
	var unk *UnknownError
	if !errors.As(err, &unk) || len(unk.Suggestions) != 0 {
		t.Fatalf("err = %v, want an UnknownError without suggestions", err)
	}
}

func TestSuggestAtMostThree(t *testing.T) {
	t.Parallel()
	got := Suggest([]Provider{{Name: "Aa"}, {Name: "Ab"}, {Name: "Ac"}, {Name: "Ad"}}, "A", 3)
	if len(got) != 3 {
		t.Errorf("Suggest = %q, want three names", got)
	}
}

func TestSelectBadPattern(t *testing.T) {
	t.Parallel()
	if _, err := Select(catalog, []string{"[x"}); err == nil {
		t.Fatal("want an error for a malformed pattern")
	}
}
