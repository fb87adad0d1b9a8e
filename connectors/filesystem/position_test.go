package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
)

func openSource(t *testing.T, tb connectors.Table, subtask, parallelism int) connectors.CheckpointedSource {
	t.Helper()
	src, err := New().NewSource(tb)
	if err != nil {
		t.Fatal(err)
	}
	cs, ok := src.(connectors.CheckpointedSource)
	if !ok {
		t.Fatal("the filesystem source is not a CheckpointedSource")
	}
	if err := cs.Open(context.Background(), subtask, parallelism); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// drain reads src to EOF: the rows, and the position after every batch
// with the number of rows read by then.
func drain(t *testing.T, src connectors.CheckpointedSource) (rows []string, positions [][]byte, counts []int) {
	t.Helper()
	for {
		b, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return rows, positions, counts
		}
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < b.Len(); r++ {
			// Row by row: values may contain line breaks.
			rows = append(rows, strings.TrimSuffix(batch.Debug(batch.Slice(b, r, r+1)), "\n"))
		}
		b.Release()
		pos, err := src.Position()
		if err != nil {
			t.Fatal(err)
		}
		positions, counts = append(positions, pos), append(counts, len(rows))
	}
}

// writeInput writes files of the given row counts into dir/in (names in
// sorted order f0, f1, ...), with quoted line breaks, CRLF and blank lines
// so that byte offsets are not simply line lengths.
func writeInput(t *testing.T, dir, format string, sizes []int) {
	t.Helper()
	id := 0
	for f, n := range sizes {
		var sb strings.Builder
		if format == "csv" {
			sb.WriteString("id,name,amount\n") // header (csv.ignore-first-line)
		}
		for i := 0; i < n; i++ {
			switch {
			case format == "json" && i%7 == 3:
				fmt.Fprintf(&sb, "{\"id\": %d, \"name\": \"j\\n%d\", \"amount\": %d.5}\r\n\r\n", id, i, i)
			case format == "json":
				fmt.Fprintf(&sb, "{\"id\": %d, \"name\": \"n%d\", \"amount\": %d}\n", id, i, i)
			case i%5 == 2:
				// A quoted field spanning lines, and a CRLF line end.
				fmt.Fprintf(&sb, "%d,\"multi\nline %d\",%d.25\r\n", id, i, i)
			case i%11 == 0:
				fmt.Fprintf(&sb, "\n%d,plain%d,%d\n", id, i, i) // a blank line first
			default:
				fmt.Fprintf(&sb, "%d,plain%d,%d\n", id, i, i)
			}
			id++
		}
		writeFile(t, filepath.Join(dir, "in", fmt.Sprintf("f%d.%s", f, format)), sb.String())
	}
}

func TestSourceSeekMidFile(t *testing.T) {
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			// Two files per subtask at parallelism 2, not multiples of a
			// batch: positions fall inside files and between them.
			writeInput(t, dir, format, []int{3000, 2500, 5000, 7001})
			opts := map[string]string{"path": "in", "format": format}
			if format == "csv" {
				opts["csv.ignore-first-line"] = "true"
			}
			tb := table(dir, opts)
			total := 0
			for subtask := 0; subtask < 2; subtask++ {
				rows, positions, counts := drain(t, openSource(t, tb, subtask, 2))
				total += len(rows)
				midFile := 0
				for k, pos := range positions {
					// Skip parallelism, subtask, files done and their hash
					// to the current file's name.
					r := stateReader{B: pos[1:]}
					r.Uvarint()
					r.Uvarint()
					r.Int()
					r.Uint64()
					if r.String() != "" {
						midFile++
					}
					restored := openSource(t, tb, subtask, 2)
					if err := restored.Seek(pos); err != nil {
						t.Fatalf("subtask %d, position %d: %v", subtask, k, err)
					}
					rest, _, _ := drain(t, restored)
					want := rows[counts[k]:]
					if strings.Join(rest, "\n") != strings.Join(want, "\n") {
						t.Fatalf("subtask %d, after batch %d (row %d): replay of %d rows differs from the %d rows of the original run",
							subtask, k+1, counts[k], len(rest), len(want))
					}
				}
				if midFile == 0 {
					t.Errorf("subtask %d: no position inside a file", subtask)
				}
			}
			if total != 3000+2500+5000+7001 {
				t.Errorf("read %d rows in all", total)
			}
		})
	}
}

func TestSourceSeekRefusesChangedInput(t *testing.T) {
	dir := t.TempDir()
	writeInput(t, dir, "json", []int{5000, 10, 20})
	tb := table(dir, map[string]string{"path": "in", "format": "json"})
	src := openSource(t, tb, 0, 2)
	b, err := src.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
	pos, err := src.Position() // inside in/f0.json
	if err != nil {
		t.Fatal(err)
	}

	if err := openSource(t, tb, 0, 3).Seek(pos); err == nil ||
		!strings.Contains(err.Error(), "not supported yet: restoring a filesystem source at a different parallelism") {
		t.Errorf("seek at parallelism 3: %v", err)
	}
	if err := openSource(t, tb, 1, 2).Seek(pos); err == nil {
		t.Error("a position of subtask 0 was accepted by subtask 1")
	}
	for i := 0; i < len(pos); i++ {
		if err := openSource(t, tb, 0, 2).Seek(pos[:i]); err == nil {
			t.Errorf("truncated position %x accepted", pos[:i])
		}
	}
	if err := openSource(t, tb, 0, 2).Seek(append(pos[:len(pos):len(pos)], 7)); err == nil {
		t.Error("a position with trailing bytes was accepted")
	}

	// The file shrank below the offset: the error names it.
	f0 := filepath.Join(dir, "in", "f0.json")
	if err := os.Truncate(f0, 100); err != nil {
		t.Fatal(err)
	}
	err = openSource(t, tb, 0, 2).Seek(pos)
	if err == nil || !strings.Contains(err.Error(), filepath.Join("in", "f0.json")) || !strings.Contains(err.Error(), "changed since the checkpoint") {
		t.Errorf("seek into a truncated file: %v", err)
	}
	// The file is gone (f2 now comes first for subtask 0): named too.
	if err := os.Remove(f0); err != nil {
		t.Fatal(err)
	}
	err = openSource(t, tb, 0, 2).Seek(pos)
	if err == nil || !strings.Contains(err.Error(), filepath.Join("in", "f0.json")) {
		t.Errorf("seek into a removed file: %v", err)
	}
}

// TestSourceSeekSingleFile covers 'path' naming a file, and a position
// taken before any row and after the last.
func TestSourceSeekSingleFile(t *testing.T) {
	dir := t.TempDir()
	writeInput(t, dir, "csv", []int{4100})
	tb := table(dir, map[string]string{"path": "in/f0.csv", "format": "csv", "csv.ignore-first-line": "true"})
	first := openSource(t, tb, 0, 1)
	start, err := first.Position()
	if err != nil {
		t.Fatal(err)
	}
	rows, positions, _ := drain(t, first)
	again := openSource(t, tb, 0, 1)
	if err := again.Seek(start); err != nil {
		t.Fatal(err)
	}
	if replay, _, _ := drain(t, again); strings.Join(replay, "\n") != strings.Join(rows, "\n") {
		t.Errorf("seek to the start replayed %d rows, want %d", len(replay), len(rows))
	}
	end := openSource(t, tb, 0, 1)
	if err := end.Seek(positions[len(positions)-1]); err != nil {
		t.Fatal(err)
	}
	if rest, _, _ := drain(t, end); len(rest) != 0 {
		t.Errorf("seek to the end replayed %d rows", len(rest))
	}
}
