package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// NullText is how the tables show NULL (as Flink's SQL client does).
const NullText = "<NULL>"

// Table writes a complete result the way Flink's SQL client does in tableau
// mode: a bordered table, every cell right-aligned, the op column first,
// then "N rows in set" (or "Empty set").
func Table(w io.Writer, names []string, rows []Row) error {
	widths := make([]int, len(names)+1)
	widths[0] = 2 // op
	for i, n := range names {
		widths[i+1] = runewidth.StringWidth(n)
	}
	for _, r := range rows {
		for i, v := range r.Values {
			widths[i+1] = max(widths[i+1], runewidth.StringWidth(cellText(v)))
		}
	}
	var sb strings.Builder
	border := borderLine(widths)
	if len(rows) == 0 {
		sb.WriteString("Empty set\n")
		_, err := io.WriteString(w, sb.String())
		return err
	}
	sb.WriteString(border)
	sb.WriteString(tableLine(widths, append([]string{"op"}, names...)))
	sb.WriteString(border)
	for _, r := range rows {
		sb.WriteString(tableLine(widths, rowCells(r)))
	}
	sb.WriteString(border)
	if len(rows) == 1 {
		sb.WriteString("1 row in set\n")
	} else {
		fmt.Fprintf(&sb, "%d rows in set\n", len(rows))
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func rowCells(r Row) []string {
	cells := make([]string, 0, len(r.Values)+1)
	cells = append(cells, r.Op.String())
	for _, v := range r.Values {
		cells = append(cells, cellText(v))
	}
	return cells
}

// cellText is a cell as a table shows it: on one line, so that a value with
// a line break cannot break the table's layout.
func cellText(v Value) string {
	if v.Null {
		return NullText
	}
	if strings.ContainsAny(v.Text, "\n\r\t") {
		return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(v.Text)
	}
	return v.Text
}

func borderLine(widths []int) string {
	var sb strings.Builder
	for _, w := range widths {
		sb.WriteByte('+')
		sb.WriteString(strings.Repeat("-", w+2))
	}
	sb.WriteString("+\n")
	return sb.String()
}

func tableLine(widths []int, cells []string) string {
	var sb strings.Builder
	for i, c := range cells {
		sb.WriteString("| ")
		sb.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)))
		sb.WriteString(c)
		sb.WriteByte(' ')
	}
	sb.WriteString("|\n")
	return sb.String()
}
