package exec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
)

// operatorIDs derives a stable id for every operator of the graph from the
// plan alone: an operator's name (which spells out what it computes) and
// the ids of its inputs, hashed. The same query planned again gets the same
// ids, so a checkpoint maps back onto it; an operator whose computation or
// upstream changed gets a new id, and its old state is reported as not
// restored.
type vertexIDs struct {
	source string   // "" without a source
	chain  []string // one per chained operator
	last   string   // what downstream vertices hash as their input
}

func operatorIDs(g *Graph) []vertexIDs {
	ids := make([]vertexIDs, len(g.Vertices))
	seen := map[string]int{}
	mk := func(parts ...string) string {
		h := sha256.New()
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s|", len(p), p)
		}
		id := hex.EncodeToString(h.Sum(nil))[:16]
		// Two identical operators on identical inputs (a statement set
		// writing the same table twice) still need distinct ids.
		seen[id]++
		if n := seen[id]; n > 1 {
			id = fmt.Sprintf("%s-%d", id[:13], n)
		}
		return id
	}
	for vi, v := range g.Vertices {
		var prev []string
		if v.Source != nil {
			ids[vi].source = mk("source", v.Name)
			prev = []string{ids[vi].source}
		} else {
			for _, in := range v.Inputs {
				prev = append(prev, fmt.Sprintf("%d/%s/%s", in.Side, in.Partitioning, ids[in.From].last))
			}
			sort.Strings(prev)
		}
		for _, f := range v.Chain {
			id := mk(append([]string{f.Name}, prev...)...)
			ids[vi].chain = append(ids[vi].chain, id)
			prev = []string{id}
		}
		if len(prev) == 1 {
			ids[vi].last = prev[0]
		} else {
			ids[vi].last = mk(append([]string{"union"}, prev...)...)
		}
	}
	return ids
}
