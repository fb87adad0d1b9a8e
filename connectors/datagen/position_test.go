package datagen

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// seekSchema has a column of every kind whose value is random, including
// the clock-relative ones and NULLs.
var seekSchema = types.NewSchema(
	types.Field{Name: "id", Type: types.TypeBigInt},
	types.Field{Name: "i", Type: types.TypeInt},
	types.Field{Name: "d", Type: types.TypeDouble},
	types.Field{Name: "m", Type: types.DecimalOf(8, 2)},
	types.Field{Name: "s", Type: types.TypeString},
	types.Field{Name: "b", Type: types.TypeBoolean},
	types.Field{Name: "ts", Type: types.TimestampOf(6)},
	types.Field{Name: "ltz", Type: types.TimestampLTZOf(3)},
	types.Field{Name: "dt", Type: types.TypeDate},
)

func seekOptions(extra map[string]string) map[string]string {
	o := map[string]string{
		// 800000 rows/s per subtask: consecutive rows are 1.25 µs apart,
		// so the timestamps differ row by row, and batches stay full.
		"rows-per-second": "1600000",
		"fields.s.length": "24", "fields.s.var-len": "true", "fields.s.null-rate": "0.2",
		"fields.i.null-rate": "0.1",
		"fields.ts.max-past": "10 s", "fields.ltz.max-past": "1 s", "fields.dt.max-past": "2 d",
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

func openSource(t *testing.T, tb connectors.Table, subtask, parallelism int) connectors.CheckpointedSource {
	t.Helper()
	src, err := New().NewSource(tb)
	if err != nil {
		t.Fatal(err)
	}
	cs, ok := src.(connectors.CheckpointedSource)
	if !ok {
		t.Fatal("the datagen source is not a CheckpointedSource")
	}
	if err := cs.Open(context.Background(), subtask, parallelism); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// rowsOf renders a batch as one string per row.
func rowsOf(b batch.Batch) []string {
	defer b.Release()
	if b.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(batch.Debug(b)), "\n")
}

// readRows reads until want rows (or EOF when want < 0), taking the
// position after batch k (k < 0: never).
func readRows(t *testing.T, src connectors.CheckpointedSource, want, k int) (rows []string, pos []byte, rowsAtPos int) {
	t.Helper()
	ctx := context.Background()
	for batches := 0; want < 0 || len(rows) < want; {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			if want >= 0 {
				t.Fatalf("EOF after %d rows, want %d", len(rows), want)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() == 0 {
			b.Release()
			continue // not due yet
		}
		rows = append(rows, rowsOf(b)...)
		if batches++; batches == k {
			if pos, err = src.Position(); err != nil {
				t.Fatal(err)
			}
			rowsAtPos = len(rows)
		}
	}
	if want >= 0 {
		rows = rows[:want]
	}
	return rows, pos, rowsAtPos
}

func TestSeekReplaysTheSameRows(t *testing.T) {
	cases := map[string]struct {
		options map[string]string
		want    int // rows to read per subtask; -1 = to EOF
	}{
		"bounded":   {map[string]string{"number-of-rows": "40001"}, -1},
		"unbounded": {nil, 20000},
		"sequence": {map[string]string{"fields.id.kind": "sequence", "fields.id.start": "10",
			"fields.id.end": "30010"}, -1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for subtask := 0; subtask < 2; subtask++ {
				tb := table(seekSchema, seekOptions(c.options))
				tb.Env.Location = time.FixedZone("X", 5*3600)
				orig, pos, at := readRows(t, openSource(t, tb, subtask, 2), c.want, 2)
				if pos == nil || at == 0 || at == len(orig) {
					t.Fatalf("subtask %d: no position inside the %d rows (at %d)", subtask, len(orig), at)
				}
				// The restored source runs later: its clock has moved, but
				// the replayed timestamps must not.
				tb.Env.Now = func() time.Time { return fixedNow.Add(90 * time.Minute) }
				restored := openSource(t, tb, subtask, 2)
				if err := restored.Seek(pos); err != nil {
					t.Fatal(err)
				}
				want := c.want
				if want >= 0 {
					want -= at
				}
				replay, _, _ := readRows(t, restored, want, -1)
				rest := orig[at:]
				if len(replay) != len(rest) {
					t.Fatalf("subtask %d: replay has %d rows, the original run %d after the position", subtask, len(replay), len(rest))
				}
				for i := range rest {
					if replay[i] != rest[i] {
						t.Fatalf("subtask %d, row %d after the position:\nreplay   %s\noriginal %s", subtask, i, replay[i], rest[i])
					}
				}
				if name == "bounded" {
					// The position after the last batch replays nothing.
					src := openSource(t, tb, subtask, 2)
					readRows(t, src, -1, -1)
					end, err := src.Position()
					if err != nil {
						t.Fatal(err)
					}
					again := openSource(t, tb, subtask, 2)
					if err := again.Seek(end); err != nil {
						t.Fatal(err)
					}
					if _, err := again.Next(context.Background()); !errors.Is(err, io.EOF) {
						t.Errorf("after seeking to the end: %v, want EOF", err)
					}
				}
			}
		})
	}
}

// TestClockFollowsTheRowSchedule: timestamps advance with the rows (rate
// 1000/s: row k is due k ms after the start), not with the batches.
func TestClockFollowsTheRowSchedule(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "ltz", Type: types.TimestampLTZOf(6)})
	sched := newSchedule(fixedNow.UnixMicro(), 1000, time.UTC)
	inst, loc := make([]int64, 5), make([]int64, 5)
	now := sched.fill(3, inst, loc)
	for j, v := range now.instants {
		if want := fixedNow.UnixMicro() + int64(3+j)*1000; v != want {
			t.Errorf("row %d at %d, want %d", 3+j, v, want)
		}
	}
	// Sanity: a source uses it (max-past 0 gives exactly the row's time).
	src := openSource(t, table(schema, map[string]string{"rows-per-second": "1000", "number-of-rows": "2"}), 0, 1)
	rows, _, _ := readRows(t, src, -1, -1)
	if len(rows) != 2 || rows[0] == rows[1] {
		t.Errorf("rows %v: want two rows 1 ms apart", rows)
	}
}

func TestSeekRefusesForeignPositions(t *testing.T) {
	tb := table(seekSchema, seekOptions(map[string]string{"number-of-rows": "100", "rows-per-second": "1000000000"}))
	src := openSource(t, tb, 1, 2)
	readRows(t, src, -1, -1)
	pos, err := src.Position()
	if err != nil {
		t.Fatal(err)
	}
	if err := openSource(t, tb, 1, 3).Seek(pos); err == nil ||
		!strings.Contains(err.Error(), "not supported yet: restoring a datagen source at a different parallelism") {
		t.Errorf("seek at parallelism 3: %v", err)
	}
	if err := openSource(t, tb, 0, 2).Seek(pos); err == nil {
		t.Error("a position of subtask 1 was accepted by subtask 0")
	}
	fewer := table(seekSchema, seekOptions(map[string]string{"number-of-rows": "50", "rows-per-second": "1000000000"}))
	if err := openSource(t, fewer, 1, 2).Seek(pos); err == nil {
		t.Error("a position beyond the table's rows was accepted")
	}
	// Truncated, extended and garbage positions fail (and do not panic).
	for i := 0; i < len(pos); i++ {
		if err := openSource(t, tb, 1, 2).Seek(pos[:i]); err == nil {
			t.Errorf("truncated position %x accepted", pos[:i])
		}
	}
	for _, bad := range [][]byte{append(pos[:len(pos):len(pos)], 0), {9, 1, 0, 0, 0}, {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		if err := openSource(t, tb, 1, 2).Seek(bad); err == nil {
			t.Errorf("position %x accepted", bad)
		}
	}
	unopened, err := New().NewSource(tb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unopened.(connectors.CheckpointedSource).Position(); err == nil {
		t.Error("Position before Open succeeded")
	}
}

// TestSeekDoesNotBurst: a restored source far into the table keeps to
// rows-per-second from where it resumes instead of catching up on the rows
// "missed" while it was down.
func TestSeekDoesNotBurst(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "v", Type: types.TypeBigInt})
	// A fast run of the same shape supplies a position 100000 rows in.
	fast := openSource(t, table(schema, map[string]string{"rows-per-second": "1000000000"}), 0, 1)
	_, pos, at := readRows(t, fast, 100_000, 1_000_000)
	if pos == nil {
		pos, _ = fast.Position()
		at = 100_000
	}
	slow := openSource(t, table(schema, map[string]string{"rows-per-second": "100"}), 0, 1)
	if err := slow.Seek(pos); err != nil {
		t.Fatal(err)
	}
	b, err := slow.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	// At 100 rows/s a first call may give a few rows, never the backlog.
	if b.Len() >= 1000 {
		t.Errorf("first batch after seeking to row %d has %d rows", at, b.Len())
	}
}
