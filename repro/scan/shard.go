package scan

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
)

// Shard is one of Count shares of a plan's cells (--shard Index/Count), so
// that Count runners can scan one plan in parallel and merge their reports.
// Index counts from 1. The zero Shard, like 1/1, is the whole plan.
type Shard struct{ Index, Count int }

// ParseShard reads a shard written i/n, such as 2/4. The error says what is
// wrong with s; the caller says where s came from (--shard, a plan).
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, errors.New("want INDEX/COUNT, such as 2/4")
	}
	is, ns = strings.TrimSpace(is), strings.TrimSpace(ns)
	n, err := strconv.Atoi(ns)
	if err != nil {
		return Shard{}, fmt.Errorf("count %q is not a whole number", ns)
	}
	if n < 1 {
		return Shard{}, fmt.Errorf("count must be at least 1, got %d", n)
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return Shard{}, fmt.Errorf("index %q is not a whole number", is)
	}
	if i < 1 || i > n {
		return Shard{}, fmt.Errorf("index must be between 1 and %d, got %d", n, i)
	}
	return Shard{Index: i, Count: n}, nil
}

// Whole reports whether the shard is the whole plan: 1/1 or the zero Shard.
func (s Shard) Whole() bool { return s.Count <= 1 }

// String writes the shard as ParseShard reads it; the whole plan is 1/1.
func (s Shard) String() string {
	if s.Whole() {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Take returns the shard's share of cells, in their input order. The shares
// of 1/n..n/n cover cells exactly once and differ in size by at most one.
//
// A cell's shard depends on the set of cells, not on their order: cells are
// ranked by a hash of their Key and dealt out by rank, so runners whose
// provider lists come in different orders still split one plan the same way,
// and a provider's cells spread over the shards instead of landing on one
// runner. A shard outside 1..Count takes nothing.
func (s Shard) Take(cells []Cell) []Cell {
	if s.Whole() {
		return cells
	}
	if s.Index < 1 || s.Index > s.Count {
		return nil
	}
	type ranked struct {
		hash uint64
		key  string
		at   int
	}
	rank := make([]ranked, len(cells))
	for i, c := range cells {
		k := c.Key()
		h := fnv.New64a()
		h.Write([]byte(k))
		rank[i] = ranked{hash: h.Sum64(), key: k, at: i}
	}
	sort.Slice(rank, func(a, b int) bool {
		ra, rb := rank[a], rank[b]
		if ra.hash != rb.hash {
			return ra.hash < rb.hash
		}
		if ra.key != rb.key {
			return ra.key < rb.key
		}
		return ra.at < rb.at
	})
	mine := make([]bool, len(cells))
	for pos := s.Index - 1; pos < len(rank); pos += s.Count {
		mine[rank[pos].at] = true
	}
	out := make([]Cell, 0, len(cells)/s.Count+1)
	for i, c := range cells {
		if mine[i] {
			out = append(out, c)
		}
	}
	return out
}
