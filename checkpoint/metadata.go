package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// MetadataVersion is the format version written into _metadata. A reader
// refuses newer versions rather than misreading them.
const MetadataVersion = 1

// MetadataFile is the name of a checkpoint's metadata file; a checkpoint is
// complete exactly when it exists.
const MetadataFile = "_metadata"

// sharedRel is how metadata refers to the job's shared directory from a
// checkpoint directory.
const sharedRel = "../shared/"

// FileRef is one file of a checkpoint.
type FileRef struct {
	// Path is slash-separated and relative to the checkpoint directory:
	// "<operator>-<subtask>/<name>", or "../shared/<prefix><name>" for a
	// shared file.
	Path string `json:"path"`
	// Name is the name the file was written with (what Materialize
	// restores it as).
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
	Shared bool   `json:"shared,omitempty"`
}

// SubtaskState is one subtask's snapshot of an operator.
type SubtaskState struct {
	Subtask       int       `json:"subtask"`
	KeyGroupStart int       `json:"key_group_start"`
	KeyGroupEnd   int       `json:"key_group_end"`
	Files         []FileRef `json:"files"`
}

// OperatorState is an operator's snapshot: one entry per subtask.
type OperatorState struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Parallelism    int            `json:"parallelism"`
	MaxParallelism int            `json:"max_parallelism"`
	Subtasks       []SubtaskState `json:"subtasks"`
}

// Subtask returns the state of subtask i, or nil.
func (o *OperatorState) Subtask(i int) *SubtaskState {
	for k := range o.Subtasks {
		if o.Subtasks[k].Subtask == i {
			return &o.Subtasks[k]
		}
	}
	return nil
}

// ChannelState is the in-flight data of one input channel of one consumer
// task (unaligned checkpoints), in replay order.
type ChannelState struct {
	Vertex  int       `json:"vertex"`
	Subtask int       `json:"subtask"`
	Channel int       `json:"channel"`
	Files   []FileRef `json:"files"`
}

// TaskStats is what one task reports about its part of a checkpoint.
type TaskStats struct {
	Vertex  string `json:"vertex"`
	Subtask int    `json:"subtask"`
	// Sync is the synchronous phase, Async the upload, Alignment the time
	// inputs were blocked, StartDelay the time from trigger to the first
	// barrier reaching the task.
	Sync          time.Duration `json:"sync_ns"`
	Async         time.Duration `json:"async_ns"`
	Alignment     time.Duration `json:"alignment_ns"`
	StartDelay    time.Duration `json:"start_delay_ns"`
	StateBytes    int64         `json:"state_bytes"`
	UploadedBytes int64         `json:"uploaded_bytes"`
	InFlightBytes int64         `json:"in_flight_bytes"`
}

// Metadata describes one completed checkpoint or savepoint.
type Metadata struct {
	Version   int    `json:"version"`
	JobID     string `json:"job_id"`
	ID        int64  `json:"checkpoint_id"`
	Savepoint bool   `json:"savepoint,omitempty"`
	// TriggerTime and CompletionTime are Unix milliseconds.
	TriggerTime    int64             `json:"trigger_time"`
	CompletionTime int64             `json:"completion_time"`
	Settings       map[string]string `json:"settings,omitempty"`
	Operators      []OperatorState   `json:"operators"`
	Channels       []ChannelState    `json:"channels,omitempty"`
	Stats          []TaskStats       `json:"stats,omitempty"`
	// Finished lists the tasks that had finished (all input consumed, all
	// output sent) when the checkpoint was taken.
	Finished []FinishedTask `json:"finished,omitempty"`

	// Dir is the directory the metadata was loaded from or written to;
	// file paths resolve against it.
	Dir string `json:"-"`
}

// FinishedTask names a task that had finished: the stable id of its vertex
// and its subtask.
type FinishedTask struct {
	ID          string `json:"id"`
	Subtask     int    `json:"subtask"`
	Parallelism int    `json:"parallelism"`
}

// FinishedSubtasks returns which subtasks of the vertex with stable id had
// finished when the checkpoint was taken, and the vertex's parallelism
// then (0 when none had).
func (m *Metadata) FinishedSubtasks(id string) (subtasks map[int]bool, parallelism int) {
	for _, f := range m.Finished {
		if f.ID == id {
			if subtasks == nil {
				subtasks = map[int]bool{}
			}
			subtasks[f.Subtask] = true
			parallelism = f.Parallelism
		}
	}
	return subtasks, parallelism
}

// Operator returns the state of operator id, or nil.
func (m *Metadata) Operator(id string) *OperatorState {
	for i := range m.Operators {
		if m.Operators[i].ID == id {
			return &m.Operators[i]
		}
	}
	return nil
}

// Path returns the local path of f.
func (m *Metadata) Path(f FileRef) string {
	return filepath.Join(m.Dir, filepath.FromSlash(f.Path))
}

// Files returns every file the checkpoint references.
func (m *Metadata) Files() []FileRef {
	var out []FileRef
	for _, op := range m.Operators {
		for _, st := range op.Subtasks {
			out = append(out, st.Files...)
		}
	}
	for _, cs := range m.Channels {
		out = append(out, cs.Files...)
	}
	return out
}

// TotalStateBytes is the size of every file the checkpoint references
// (operator state and in-flight data, shared files included).
func (m *Metadata) TotalStateBytes() int64 {
	var n int64
	for _, f := range m.Files() {
		n += f.Size
	}
	return n
}

// UploadedBytes is what the tasks actually wrote for this checkpoint.
func (m *Metadata) UploadedBytes() int64 {
	var n int64
	for _, s := range m.Stats {
		n += s.UploadedBytes
	}
	return n
}

// InFlightBytes is the size of the channel state.
func (m *Metadata) InFlightBytes() int64 {
	var n int64
	for _, cs := range m.Channels {
		for _, f := range cs.Files {
			n += f.Size
		}
	}
	return n
}

// Duration is the time from trigger to completion.
func (m *Metadata) Duration() time.Duration {
	return time.Duration(m.CompletionTime-m.TriggerTime) * time.Millisecond
}

// sharedNames returns the names (in shared/) of the shared files m uses.
func (m *Metadata) sharedNames() []string {
	var out []string
	for _, f := range m.Files() {
		if f.Shared {
			out = append(out, strings.TrimPrefix(f.Path, sharedRel))
		}
	}
	return out
}

func (m *Metadata) encode() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return append(b, '\n'), nil
}

// decodeMetadata parses and checks a _metadata file's contents.
func decodeMetadata(b []byte) (*Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad metadata: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks what later code relies on: file paths stay inside the
// checkpoint (or name a shared file), names are unique per subtask.
func (m *Metadata) validate() error {
	if m.Version < 1 || m.Version > MetadataVersion {
		return fmt.Errorf("bad metadata: unsupported version %d (this build reads %d)", m.Version, MetadataVersion)
	}
	if m.ID <= 0 {
		return fmt.Errorf("bad metadata: checkpoint id %d", m.ID)
	}
	ops := map[string]bool{}
	for _, op := range m.Operators {
		if err := checkComponent(op.ID); err != nil {
			return fmt.Errorf("bad metadata: operator id: %w", err)
		}
		if ops[op.ID] {
			return fmt.Errorf("bad metadata: operator %s twice", op.ID)
		}
		ops[op.ID] = true
		if op.Parallelism < 1 {
			return fmt.Errorf("bad metadata: operator %s: parallelism %d", op.ID, op.Parallelism)
		}
		subs := map[int]bool{}
		for _, st := range op.Subtasks {
			if st.Subtask < 0 || st.Subtask >= op.Parallelism || subs[st.Subtask] {
				return fmt.Errorf("bad metadata: operator %s: subtask %d", op.ID, st.Subtask)
			}
			subs[st.Subtask] = true
			if st.KeyGroupStart < 0 || st.KeyGroupEnd < st.KeyGroupStart {
				return fmt.Errorf("bad metadata: operator %s subtask %d: key groups [%d, %d)", op.ID, st.Subtask, st.KeyGroupStart, st.KeyGroupEnd)
			}
			if err := m.checkFiles(st.Files); err != nil {
				return fmt.Errorf("bad metadata: operator %s subtask %d: %w", op.ID, st.Subtask, err)
			}
		}
	}
	for _, cs := range m.Channels {
		if cs.Vertex < 0 || cs.Subtask < 0 || cs.Channel < 0 {
			return fmt.Errorf("bad metadata: channel state %d/%d/%d", cs.Vertex, cs.Subtask, cs.Channel)
		}
		if err := m.checkFiles(cs.Files); err != nil {
			return fmt.Errorf("bad metadata: channel state %d/%d/%d: %w", cs.Vertex, cs.Subtask, cs.Channel, err)
		}
	}
	return nil
}

func (m *Metadata) checkFiles(files []FileRef) error {
	names := map[string]bool{}
	for _, f := range files {
		if err := checkComponent(f.Name); err != nil {
			return fmt.Errorf("file name: %w", err)
		}
		if names[f.Name] {
			return fmt.Errorf("file %s twice", f.Name)
		}
		names[f.Name] = true
		if f.Size < 0 {
			return fmt.Errorf("file %s: size %d", f.Path, f.Size)
		}
		if f.Shared {
			if m.Savepoint {
				return fmt.Errorf("savepoint references shared file %s", f.Path)
			}
			if !strings.HasPrefix(f.Path, sharedRel) || checkComponent(strings.TrimPrefix(f.Path, sharedRel)) != nil {
				return fmt.Errorf("bad shared file path %q", f.Path)
			}
			continue
		}
		if f.Path == "" || path.Clean(f.Path) != f.Path || !filepath.IsLocal(filepath.FromSlash(f.Path)) || f.Path == MetadataFile {
			return fmt.Errorf("bad file path %q", f.Path)
		}
	}
	return nil
}

// checkComponent accepts a name usable as one path component.
func checkComponent(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return fmt.Errorf("bad name %q", s)
	case strings.ContainsAny(s, "/\\\x00"):
		return fmt.Errorf("bad name %q: no slashes", s)
	}
	return nil
}

// ErrNoCheckpoint is wrapped by the error for a directory without any
// usable completed checkpoint.
var ErrNoCheckpoint = errors.New("no completed checkpoint")
