package render

import "strings"

// CSVHeader is the header line of a result: op, then the column names.
func CSVHeader(names []string) string {
	fields := make([]string, 0, len(names)+1)
	fields = append(fields, "op")
	for _, n := range names {
		fields = append(fields, csvField(n))
	}
	return strings.Join(fields, ",")
}

// CSVLine renders one change. NULL is an empty unquoted field and an empty
// string is "" so that the two stay distinguishable.
func CSVLine(r Row) string {
	fields := make([]string, 0, len(r.Values)+1)
	fields = append(fields, r.Op.String())
	for _, v := range r.Values {
		if v.Null {
			fields = append(fields, "")
			continue
		}
		if v.Text == "" {
			fields = append(fields, `""`)
			continue
		}
		fields = append(fields, csvField(v.Text))
	}
	return strings.Join(fields, ",")
}

// csvField quotes s as RFC 4180 asks: when it holds a comma, a quote or a
// line break (and when it has leading or trailing spaces, which some readers
// would otherwise trim).
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
