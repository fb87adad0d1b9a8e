package render

import (
	"encoding/json"
	"strings"
)

// JSONLine renders one change as a JSON object: {"op":"+I","col":value,...},
// keys in column order (a map would lose the order).
func JSONLine(names []string, r Row) string {
	var sb strings.Builder
	sb.WriteString(`{"op":`)
	sb.WriteString(quoteJSON(r.Op.String()))
	for i, n := range names {
		sb.WriteByte(',')
		sb.WriteString(quoteJSON(n))
		sb.WriteByte(':')
		sb.WriteString(r.Values[i].JSON)
	}
	sb.WriteByte('}')
	return sb.String()
}

func quoteJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		// Marshal of a string cannot fail; keep a valid value regardless.
		return `""`
	}
	return string(b)
}
