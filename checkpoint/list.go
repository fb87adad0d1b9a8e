package checkpoint

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is where a checkpoint stands.
type Status string

const (
	StatusInProgress Status = "IN_PROGRESS"
	StatusCompleted  Status = "COMPLETED"
	StatusFailed     Status = "FAILED"
	// StatusIncomplete is a directory without metadata (in progress, or
	// left by a crash); StatusCorrupt one whose metadata or files are bad.
	StatusIncomplete Status = "INCOMPLETE"
	StatusCorrupt    Status = "CORRUPT"
)

// Summary describes one checkpoint, for SHOW CHECKPOINTS and the
// checkpoints command.
type Summary struct {
	JobID     string
	ID        int64
	Status    Status
	Savepoint bool
	// Path is the checkpoint's directory (once known).
	Path          string
	TriggerTime   time.Time
	Duration      time.Duration
	StateBytes    int64
	UploadedBytes int64
	InFlightBytes int64
	// Acknowledged of Expected tasks (coordinator history only).
	Acknowledged, Expected int
	// Failure says why the checkpoint failed or is unusable.
	Failure string
	Tasks   []TaskStats
}

// Kind is "savepoint" or "checkpoint".
func (s Summary) Kind() string {
	if s.Savepoint {
		return "savepoint"
	}
	return "checkpoint"
}

func summaryOf(m *Metadata) Summary {
	return Summary{
		JobID:         m.JobID,
		ID:            m.ID,
		Status:        StatusCompleted,
		Savepoint:     m.Savepoint,
		Path:          m.Dir,
		TriggerTime:   time.UnixMilli(m.TriggerTime),
		Duration:      m.Duration(),
		StateBytes:    m.TotalStateBytes(),
		UploadedBytes: m.UploadedBytes(),
		InFlightBytes: m.InFlightBytes(),
		Tasks:         slices.Clone(m.Stats),
	}
}

// List describes the checkpoints and savepoints found in dir: a single
// checkpoint directory, a job's directory, a savepoint root, or a root
// holding several jobs. It checks that files exist with their sizes;
// checksums are verified when a checkpoint is loaded.
func List(dir string) ([]Summary, error) {
	if _, err := os.Stat(filepath.Join(dir, MetadataFile)); err == nil {
		return []Summary{summarize(dir, "", 0)}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var out []Summary
	job := filepath.Base(dir)
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if id, ok := checkpointDirID(e.Name()); ok {
			out = append(out, summarize(p, job, id))
			continue
		}
		sub, err := os.ReadDir(p)
		if err != nil {
			continue
		}
		for _, se := range sub {
			if id, ok := checkpointDirID(se.Name()); ok && se.IsDir() {
				out = append(out, summarize(filepath.Join(p, se.Name()), e.Name(), id))
			}
		}
	}
	slices.SortFunc(out, func(a, b Summary) int {
		return cmp.Or(cmp.Compare(a.JobID, b.JobID), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Path, b.Path))
	})
	return out, nil
}

// checkpointDirID recognizes chk-<n> and sp-<n>-<timestamp>.
func checkpointDirID(name string) (int64, bool) {
	if id, ok := parseChkName(name); ok {
		return id, true
	}
	rest, ok := strings.CutPrefix(name, "sp-")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, "-")
	return parseChkName("chk-" + num)
}

func summarize(dir, job string, id int64) Summary {
	s := Summary{JobID: job, ID: id, Path: dir, Savepoint: strings.HasPrefix(filepath.Base(dir), "sp-")}
	m, err := readMetadata(dir)
	if errors.Is(err, fs.ErrNotExist) {
		s.Status = StatusIncomplete
		s.Failure = "no metadata"
		return s
	}
	if err == nil {
		err = m.checkSizes()
	}
	if err != nil {
		s.Status = StatusCorrupt
		s.Failure = err.Error()
		return s
	}
	return summaryOf(m)
}

// FormatTable prints one line per checkpoint, then each checkpoint's
// per-task figures.
func FormatTable(w io.Writer, sums []Summary) error {
	jobs := map[string]bool{}
	for _, s := range sums {
		jobs[s.JobID] = true
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "ID\tSTATUS\tKIND\tTRIGGERED\tDURATION\tSTATE\tUPLOADED\tIN-FLIGHT\tDETAIL"
	if len(jobs) > 1 {
		head = "JOB\t" + head
	}
	fmt.Fprintln(tw, head)
	for _, s := range sums {
		if len(jobs) > 1 {
			fmt.Fprintf(tw, "%s\t", s.JobID)
		}
		detail := s.Failure
		if s.Status == StatusInProgress {
			detail = fmt.Sprintf("%d/%d acknowledged", s.Acknowledged, s.Expected)
		} else if detail == "" {
			detail = s.Path
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Status, s.Kind(), fmtTime(s.TriggerTime),
			fmtDur(s.Duration), fmtBytes(s.StateBytes), fmtBytes(s.UploadedBytes), fmtBytes(s.InFlightBytes), detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range sums {
		if len(s.Tasks) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s %d tasks:\n", s.Kind(), s.ID)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "    TASK\tSUBTASK\tSYNC\tASYNC\tALIGNMENT\tSTART DELAY\tSTATE\tUPLOADED\tIN-FLIGHT")
		for _, t := range s.Tasks {
			fmt.Fprintf(tw, "    %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Vertex, t.Subtask, fmtDur(t.Sync), fmtDur(t.Async),
				fmtDur(t.Alignment), fmtDur(t.StartDelay), fmtBytes(t.StateBytes), fmtBytes(t.UploadedBytes), fmtBytes(t.InFlightBytes))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() || t.UnixMilli() == 0 {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05.000")
}

func fmtDur(d time.Duration) string {
	if d >= time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/unit, 0
	for v >= unit && u < 3 {
		v /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[u])
}
