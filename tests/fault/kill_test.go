package fault

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary builds cmd/streamsql once per test process.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "streamsql-fault-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "streamsql")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/streamsql/streamsql/cmd/streamsql").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := buildBinary(); err == nil && bin != "" {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

func streamsqlBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build streamsql with")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// A job of the process-kill suite: datagen (bounded, rate-limited) into the
// filesystem sink. %[1]d is the rows per second.
type killJob struct {
	name string
	sql  string
}

const killSource = `
CREATE TABLE src (id BIGINT, k INT, v INT,
  ts AS TO_TIMESTAMP_LTZ(id * 10, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'rows-per-second' = '%[1]d',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '4000',
  'fields.k.min' = '1', 'fields.k.max' = '10', 'fields.v.min' = '1', 'fields.v.max' = '1000');
SET 'parallelism.default' = '2';
`

// killSettings turn checkpoints on; three are retained, so that a broken
// latest one has a predecessor.
const killSettings = `
SET 'checkpoint.interval.ms' = '50';
SET 'checkpoint.retained' = '3';
`

var killJobs = []killJob{
	{name: "filter", sql: killSource + `
CREATE TABLE out (id BIGINT, k INT, v INT) WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'csv');
%[2]s
INSERT INTO out SELECT id, k, v FROM src WHERE v %% 3 <> 0;
`},
	{name: "tumble", sql: killSource + `
CREATE TABLE out (ws TIMESTAMP(3), k INT, n BIGINT, s INT) WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'csv');
%[2]s
INSERT INTO out SELECT window_start, k, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND))
GROUP BY window_start, window_end, k;
`},
	{name: "hop-rocksdb", sql: killSource + `
SET 'state.backend' = 'rocksdb';
CREATE TABLE out (ws TIMESTAMP(3), k INT, n BIGINT, s INT) WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'csv');
%[2]s
INSERT INTO out SELECT window_start, k, COUNT(*), SUM(v)
FROM TABLE(HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '2' SECOND))
GROUP BY window_start, window_end, k;
`},
}

// killRate is the source rate of the killed runs: the 4000 rows take
// about two seconds.
const killRate = 2000

func (j killJob) script(rate int, checkpoints bool) string {
	settings := ""
	if checkpoints {
		settings = killSettings
	}
	return fmt.Sprintf(j.sql, rate, settings)
}

// proc is a running `streamsql run`.
type proc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer // complete once waited for
	mu     sync.Mutex
	cps    []int64       // ids of the checkpoints it completed so far
	cpSeen chan struct{} // gets a value per completed checkpoint
	done   chan struct{}
	err    error
}

var checkpointLine = regexp.MustCompile(`msg="checkpoint completed".* id=(\d+)`)

// start runs the binary in dir on job.sql with args.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(streamsqlBinary(t), append(append([]string{"run", "--log-level", "info"}, args...), "job.sql")...)
	cmd.Dir = dir
	cmd.Stdout = io.Discard
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	p := &proc{cmd: cmd, cpSeen: make(chan struct{}, 1000), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.WriteString(line + "\n")
			if m := checkpointLine.FindStringSubmatch(line); m != nil {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				p.mu.Lock()
				p.cps = append(p.cps, id)
				p.mu.Unlock()
				p.cpSeen <- struct{}{}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		<-scanned
		close(p.done)
	}()
	return p
}

// waitCheckpoints waits until the process completed n checkpoints; false
// if it ended first.
func (p *proc) waitCheckpoints(n int) bool {
	for seen := 0; seen < n; {
		select {
		case <-p.cpSeen:
			seen++
		case <-p.done:
			return false
		}
	}
	return true
}

func (p *proc) checkpoints() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.cps)
}

// kill sends SIGKILL and waits; false if the process had already ended.
func (p *proc) kill() bool {
	select {
	case <-p.done:
		return false
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
	return true
}

// wait waits for the process and fails the test unless it exited 0.
func (p *proc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("streamsql run did not end; stderr:\n%s", p.stderr.String())
	}
	if p.err != nil {
		t.Fatalf("streamsql run: %v; stderr:\n%s", p.err, p.stderr.String())
	}
}

// newJobDir makes a working directory holding job.sql.
func newJobDir(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "job.sql"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sinkFiles returns the sorted lines of the visible files in dir/out and
// the names of the hidden ones.
func sinkFiles(t *testing.T, dir string) (lines, hidden []string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "out", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	return lines, hidden
}

// killBaseline is the sink output of a run without checkpoints or kills.
func killBaseline(t *testing.T, j killJob) []string {
	t.Helper()
	dir := newJobDir(t, j.script(1_000_000, false))
	start(t, dir).wait(t)
	lines, hidden := sinkFiles(t, dir)
	if len(lines) == 0 || len(hidden) > 0 {
		t.Fatalf("run without failures: %d rows, hidden files %v", len(lines), hidden)
	}
	return lines
}

// checkExactlyOnce compares the sink's visible output with want and
// requires that no hidden (uncommitted) file remains.
func checkExactlyOnce(t *testing.T, dir string, want []string) {
	t.Helper()
	got, hidden := sinkFiles(t, dir)
	if len(hidden) > 0 {
		t.Errorf("hidden files remain after the final run: %v", hidden)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the sink's files differ from a run without failures:\n%s", diffRows(want, got))
	}
}

const killsPerRun = 3

// TestProcessKills kills `streamsql run` with SIGKILL at random times
// (after its first checkpoint of each run, so that every restart has one
// to resume from) and resumes it with --restore latest until it finishes.
func TestProcessKills(t *testing.T) {
	for _, j := range killJobs {
		t.Run(j.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seedFor(t), 1))
			want := killBaseline(t, j)
			dir := newJobDir(t, j.script(killRate, true))
			var args []string
			lastCP := int64(0)
			for run := 0; ; run++ {
				p := start(t, dir, args...)
				if run < killsPerRun && p.waitCheckpoints(1) {
					// Each run gets at most ~0.5 s of the job's ~2 s, so the
					// kills come while both sources are still running.
					time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
					if p.kill() {
						cps := p.checkpoints()
						if run > 0 && !strings.Contains(p.stderr.String(), `msg="restoring job"`) {
							t.Fatalf("run %d did not restore; stderr:\n%s", run, p.stderr.String())
						}
						if cps[0] <= lastCP {
							t.Fatalf("run %d numbered its first checkpoint %d, not after the restored %d: it did not resume", run, cps[0], lastCP)
						}
						lastCP = cps[len(cps)-1]
						t.Logf("run %d killed after checkpoints %v", run, cps)
						args = []string{"--restore", "latest"}
						continue
					}
				}
				p.wait(t)
				if run < killsPerRun {
					t.Fatalf("the job ended after %d kills, before the planned %d", run, killsPerRun)
				}
				break
			}
			checkExactlyOnce(t, dir, want)
		})
	}
}

// latestCheckpoint returns the newest complete chk-N directory under
// dir/checkpoints, and the number of complete ones.
func latestCheckpoint(t *testing.T, dir string) (string, int) {
	t.Helper()
	jobs, err := os.ReadDir(filepath.Join(dir, "checkpoints"))
	if err != nil || len(jobs) != 1 {
		t.Fatalf("want one job under checkpoints/: %v %v", jobs, err)
	}
	jobDir := filepath.Join(dir, "checkpoints", jobs[0].Name())
	ents, err := os.ReadDir(jobDir)
	if err != nil {
		t.Fatal(err)
	}
	best, bestID, n := "", int64(-1), 0
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "chk-")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(jobDir, e.Name(), "_metadata")); err != nil {
			continue
		}
		n++
		if id > bestID {
			best, bestID = filepath.Join(jobDir, e.Name()), id
		}
	}
	if best == "" {
		t.Fatal("no complete checkpoint")
	}
	return best, n
}

// breakages damage a checkpoint directory.
var breakages = []struct {
	name  string
	apply func(t *testing.T, rng *rand.Rand, chk string)
}{
	{"truncated-state-file", func(t *testing.T, rng *rand.Rand, chk string) {
		var files []string
		filepath.WalkDir(chk, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && d.Name() != "_metadata" {
				if fi, err := d.Info(); err == nil && fi.Size() > 0 {
					files = append(files, p)
				}
			}
			return nil
		})
		if len(files) == 0 {
			t.Fatalf("%s holds no state file", chk)
		}
		slices.Sort(files)
		f := files[rng.IntN(len(files))]
		fi, _ := os.Stat(f)
		if err := os.Truncate(f, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
		t.Logf("truncated %s from %d to %d bytes", f, fi.Size(), fi.Size()/2)
	}},
	{"garbled-metadata", func(t *testing.T, rng *rand.Rand, chk string) {
		p := filepath.Join(chk, "_metadata")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(b) / 4; i < len(b)*3/4; i++ {
			b[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("garbled the middle half of %s (%d bytes)", p, len(b))
	}},
}

// partFile matches the filesystem sink's part file names, also inside its
// pending state in a checkpoint.
var partFile = regexp.MustCompile(`part-[0-9a-f]{8}-\d+-\d+\.csv`)

// committedBy reports whether the part files that checkpoint chk lists as
// pending (in its sinks' sink.snap) are all visible: its commit happened
// before the kill.
func committedBy(t *testing.T, dir, chk string) bool {
	t.Helper()
	var names []string
	filepath.WalkDir(chk, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "sink.snap" {
			b, _ := os.ReadFile(p)
			for _, m := range partFile.FindAll(b, -1) {
				names = append(names, string(m))
			}
		}
		return nil
	})
	if len(names) == 0 {
		return false
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, "out", n)); err != nil {
			return false
		}
	}
	return true
}

// checkNoLoss asserts at-least-once: every row of want is in the sink, and
// every extra row is a repeat of a row of want (nothing invented).
func checkNoLoss(t *testing.T, dir string, want []string) {
	t.Helper()
	got, hidden := sinkFiles(t, dir)
	if len(hidden) > 0 {
		t.Errorf("hidden files remain after the final run: %v", hidden)
	}
	count := map[string]int{}
	for _, r := range got {
		count[r]++
	}
	for _, r := range want {
		if count[r] == 0 {
			t.Fatalf("row %q was lost:\n%s", r, diffRows(want, got))
		}
	}
	wanted := map[string]bool{}
	for _, r := range want {
		wanted[r] = true
	}
	for r := range count {
		if !wanted[r] {
			t.Fatalf("row %q is not in a run without failures", r)
		}
	}
	t.Logf("%d rows, %d of them repeats", len(got), len(got)-len(want))
}

// TestBrokenLatestCheckpoint kills a run, damages its newest checkpoint,
// and resumes: --restore latest must warn, resume from the one before,
// and lose nothing. When the damaged checkpoint had not been committed
// before the kill, the output is still exactly once. When it had been
// (its rows are visible, and the older checkpoint's sources replay them),
// those rows are written again and the restore says so: deleting visible
// output to avoid that would be worse. Runs are retried until the kill
// leaves the committed case, the harder one; a min pause between
// checkpoints makes it likely.
func TestBrokenLatestCheckpoint(t *testing.T) {
	j := killJobs[0]
	for _, br := range breakages {
		t.Run(br.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seedFor(t), 2))
			want := killBaseline(t, j)
			script := j.script(killRate, true) + "\n"
			script = strings.Replace(script, "SET 'checkpoint.retained' = '3';", "SET 'checkpoint.retained' = '3';\nSET 'checkpoint.min-pause.ms' = '150';", 1)
			var dir, chk string
			committed := false
			for try := 1; ; try++ {
				dir = newJobDir(t, script)
				p := start(t, dir)
				if !p.waitCheckpoints(3) {
					t.Fatalf("the job ended before three checkpoints; stderr:\n%s", p.stderr.String())
				}
				time.Sleep(time.Duration(50+rng.IntN(60)) * time.Millisecond)
				if !p.kill() {
					t.Fatal("the job ended before it was killed")
				}
				var n int
				chk, n = latestCheckpoint(t, dir)
				if n < 2 {
					t.Fatalf("only %d complete checkpoint(s) retained", n)
				}
				if committedBy(t, dir, chk) {
					t.Logf("try %d: %s was committed before the kill", try, filepath.Base(chk))
					committed = true
					break
				}
				if try == 10 {
					t.Logf("try %d: %s was not committed before the kill; going on with it", try, filepath.Base(chk))
					break
				}
			}
			br.apply(t, rng, chk)
			brokenID, _ := strconv.ParseInt(strings.TrimPrefix(filepath.Base(chk), "chk-"), 10, 64)

			p := start(t, dir, "--restore", "latest")
			p.wait(t)
			log := p.stderr.String()
			if !strings.Contains(log, "skipping unusable checkpoint") || !strings.Contains(log, filepath.Base(chk)) {
				t.Errorf("no warning about the broken %s; stderr:\n%s", filepath.Base(chk), log)
			}
			m := regexp.MustCompile(`msg="restoring job".* checkpoint=(\d+)`).FindStringSubmatch(log)
			if m == nil {
				t.Fatalf("the job did not restore; stderr:\n%s", log)
			}
			if id, _ := strconv.ParseInt(m[1], 10, 64); id >= brokenID {
				t.Fatalf("restored checkpoint %d, want one before the broken %d", id, brokenID)
			}
			if !strings.Contains(log, "restoring from an older checkpoint") {
				t.Errorf("no warning that output may repeat; stderr:\n%s", log)
			}
			if committed {
				checkNoLoss(t, dir, want)
			} else {
				checkExactlyOnce(t, dir, want)
			}
		})
	}
}
