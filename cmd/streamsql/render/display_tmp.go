package render

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/sql/types"
)

// display stands in for connectors/format.Display until that package
// exists; it follows the same contract (non-NULL cells only).
func display(a arrow.Array, i int, t types.Type, loc *time.Location) string {
	switch t.Kind {
	case types.Boolean:
		if a.(*array.Boolean).Value(i) {
			return "TRUE"
		}
		return "FALSE"
	case types.Int:
		return strconv.FormatInt(int64(a.(*array.Int32).Value(i)), 10)
	case types.BigInt:
		return strconv.FormatInt(a.(*array.Int64).Value(i), 10)
	case types.Double:
		return strconv.FormatFloat(a.(*array.Float64).Value(i), 'g', -1, 64)
	case types.Decimal:
		return decimalText(a.(*array.Int64).Value(i), t.Scale)
	case types.String:
		return a.(*array.String).Value(i)
	case types.Timestamp:
		return time.UnixMicro(a.(*array.Int64).Value(i)).UTC().Format(tsLayout(t.Precision))
	case types.TimestampLTZ:
		if loc == nil {
			loc = time.UTC
		}
		return time.UnixMicro(a.(*array.Int64).Value(i)).In(loc).Format(tsLayout(t.Precision))
	case types.Date:
		return time.Unix(int64(a.(*array.Int32).Value(i))*86400, 0).UTC().Format("2006-01-02")
	}
	return a.ValueStr(i)
}

func tsLayout(p int) string {
	if p <= 0 {
		return "2006-01-02 15:04:05"
	}
	return "2006-01-02 15:04:05." + strings.Repeat("0", min(p, 9))
}

func decimalText(v int64, scale int) string {
	if scale <= 0 {
		return strconv.FormatInt(v, 10)
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}
