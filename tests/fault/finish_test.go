package fault

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors/datagen"
)

// The job of TestFailureAfterASinkFinished: a bounded datagen split in two
// contiguous halves (subtask 0 reads ids 1..1000, subtask 1 ids
// 1001..2000), filtered into a sink, each subtask one chain.
const finishJob = `
CREATE TABLE src (id BIGINT, v INT)
WITH ('connector' = 'datagen', 'rows-per-second' = '4000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '2000',
  'fields.v.min' = '1', 'fields.v.max' = '1000');
CREATE TABLE out (id BIGINT, v INT) WITH (%s);
SET 'parallelism.default' = '2';
SET 'checkpoint.interval.ms' = '20';
SET 'restart-strategy' = 'fixed-delay';
SET 'restart-strategy.fixed-delay.attempts' = '3';
SET 'restart-strategy.fixed-delay.delay' = '10 ms';
INSERT INTO out SELECT id, v FROM src WHERE v %% 2 = 0;
`

// endWatch tells when source subtask 0 has reached its end.
type endWatch struct {
	ended0 chan struct{}
	once   sync.Once
}

func (w *endWatch) opened(int) {}
func (w *endWatch) end(subtask int) bool {
	if subtask == 0 {
		w.once.Do(func() { close(w.ended0) })
	}
	return true
}

// TestFailureAfterASinkFinished fails the job once one sink subtask has
// finished (its input ended, and Finish made its output final) while the
// other is still running. No checkpoint can be taken once a source has
// finished, so the job restarts from a checkpoint older than the finished
// subtask's last rows, and its source replays them: they are committed a
// second time. Exactly-once requires that they are not.
//
// To make that deterministic, subtask 1's source stops in the fault hook
// (after a checkpoint has completed) until source subtask 0 has ended and
// sink subtask 0 has finished (or, should the engine defer that commit, a
// moment later), and then fails: while it is stopped no checkpoint can
// complete, so subtask 0's last rows are covered by none.
func TestFailureAfterASinkFinished(t *testing.T) {
	want := func() []string {
		st := newStore()
		if err := runScript(t, t.TempDir(), fmt.Sprintf(strings.ReplaceAll(finishJob, "SET 'checkpoint.interval.ms' = '20';", ""),
			"'connector' = 'txlog'"), st, nil, nil); err != nil {
			t.Fatal(err)
		}
		rows, _ := materialize(st.Changelog())
		return rows
	}()
	// The last row of subtask 0 (ids 1..1000) that passes the filter.
	var last string
	for _, r := range want {
		id, _, _ := strings.Cut(r, "|")
		if n, _ := strconv.Atoi(id); n <= 1000 && (last == "" || n > atoi(last)) {
			last = id
		}
	}

	for _, c := range []struct {
		name, with string
		// checkpointed and finished0 tell whether a checkpoint has
		// completed and whether sink subtask 0 has made its output final.
		setup func(t *testing.T, dir string) (st *store, checkpointed, finished0 func() bool, result func() []string)
	}{
		{"txlog", "'connector' = 'txlog'", func(t *testing.T, dir string) (*store, func() bool, func() bool, func() []string) {
			st := newStore()
			return st, func() bool { return st.Notified() > 0 }, func() bool { return st.Finished(0) },
				func() []string { rows, _ := materialize(st.Changelog()); return rows }
		}},
		{"filesystem", "'connector' = 'filesystem', 'path' = 'out', 'format' = 'csv'", func(t *testing.T, dir string) (*store, func() bool, func() bool, func() []string) {
			// Subtask 0's part files are "part-<token>-0-<n>.csv": a
			// visible one holds the last row once Finish committed it (no
			// checkpoint can complete meanwhile).
			part0 := regexp.MustCompile(`^part-[0-9a-f]+-0-\d+\.csv$`)
			visible0 := func(id string) bool {
				ents, _ := os.ReadDir(filepath.Join(dir, "out"))
				for _, e := range ents {
					if !part0.MatchString(e.Name()) {
						continue
					}
					b, _ := os.ReadFile(filepath.Join(dir, "out", e.Name()))
					for _, l := range strings.Split(string(b), "\n") {
						if id == "" && l != "" || id != "" && strings.HasPrefix(l, id+",") {
							return true
						}
					}
				}
				return false
			}
			return newStore(), func() bool { return visible0("") }, func() bool { return visible0(last) },
				func() []string {
					got, hidden := sinkFiles(t, dir)
					if len(hidden) > 0 {
						t.Errorf("hidden files remain: %v", hidden)
					}
					for i, r := range got {
						got[i] = strings.ReplaceAll(r, ",", "|")
					}
					slices.Sort(got)
					return got
				}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			st, checkpointed, finished0, result := c.setup(t, dir)
			watch := &endWatch{ended0: make(chan struct{})}
			var once sync.Once
			finished := false
			inject := func(task string, subtask int) error {
				if subtask != 1 || !checkpointed() {
					return nil
				}
				var err error
				once.Do(func() {
					select {
					case <-watch.ended0:
					case <-time.After(20 * time.Second):
						t.Error("source subtask 0 did not end")
					}
					for deadline := time.Now().Add(2 * time.Second); !finished && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
						finished = finished0()
					}
					err = fmt.Errorf("%w in %s (subtask 1) after source subtask 0 ended", errInjected, task)
				})
				return err
			}
			if err := runScript(t, dir, fmt.Sprintf(finishJob, c.with), st, inject, nil, &trackedDatagen{datagen.New(), watch}); err != nil {
				t.Fatal(err)
			}
			t.Logf("sink subtask 0 made its output final before the failure: %v", finished)
			if got := result(); !slices.Equal(got, want) {
				t.Fatalf("exactly-once result differs from the run without failures:\n%s", diffRows(want, got))
			}
		})
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
