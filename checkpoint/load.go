package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// readMetadata reads and checks dir's _metadata, without looking at the
// files it references.
func readMetadata(dir string) (*Metadata, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetadataFile))
	if err != nil {
		return nil, err
	}
	m, err := decodeMetadata(b)
	if err != nil {
		return nil, err
	}
	m.Dir = dir
	return m, nil
}

// Verify checks that every file the checkpoint references exists with its
// recorded size and CRC32C.
func (m *Metadata) Verify() error {
	for _, f := range m.Files() {
		if err := verifyFile(m.Path(f), f); err != nil {
			return err
		}
	}
	return nil
}

func verifyFile(p string, f FileRef) error {
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	h := newCRC()
	n, err := io.Copy(h, in)
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	if n != f.Size {
		return fmt.Errorf("%s has %d bytes, expected %d", p, n, f.Size)
	}
	if h.Sum32() != f.CRC32C {
		return fmt.Errorf("%s: checksum mismatch", p)
	}
	return nil
}

// checkSizes is Verify without reading the files.
func (m *Metadata) checkSizes() error {
	for _, f := range m.Files() {
		fi, err := os.Stat(m.Path(f))
		if err != nil {
			return err
		}
		if fi.Size() != f.Size {
			return fmt.Errorf("%s has %d bytes, expected %d", m.Path(f), fi.Size(), f.Size)
		}
	}
	return nil
}

// Load loads the checkpoint or savepoint in directory p (or whose
// _metadata file p is) and verifies its files.
func Load(p string) (*Metadata, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	dir := p
	if !fi.IsDir() {
		if filepath.Base(p) != MetadataFile {
			return nil, fmt.Errorf("load checkpoint: %s is neither a checkpoint directory nor a %s file", p, MetadataFile)
		}
		dir = filepath.Dir(p)
	}
	m, err := readMetadata(dir)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	if err := m.Verify(); err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	return m, nil
}

// LoadLatest returns the newest completed checkpoint of job jobID under dir
// that verifies. Broken ones are skipped with a warning.
func LoadLatest(dir, jobID string, logger *slog.Logger) (*Metadata, error) {
	if err := checkComponent(jobID); err != nil {
		return nil, fmt.Errorf("load checkpoint: job id: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return loadLatest(filepath.Join(dir, jobID), logger)
}

func loadLatest(jobDir string, logger *slog.Logger) (*Metadata, error) {
	ids, err := checkpointIDs(jobDir)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	var skipped []int64
	for _, id := range slices.Backward(ids) {
		dir := filepath.Join(jobDir, fmt.Sprintf("chk-%d", id))
		m, err := readMetadata(dir)
		if errors.Is(err, fs.ErrNotExist) {
			// In progress, or left by a crash: never complete.
			logger.Debug("skipping incomplete checkpoint", "dir", dir)
			continue
		}
		if err == nil && m.ID != id {
			err = fmt.Errorf("metadata is of checkpoint %d", m.ID)
		}
		if err == nil {
			err = m.Verify()
		}
		if err != nil {
			logger.Warn("skipping unusable checkpoint", "dir", dir, "reason", err)
			skipped = append(skipped, id)
			continue
		}
		if len(skipped) > 0 {
			// A newer checkpoint may have completed and been committed
			// by two-phase-commit sinks before it was damaged; its
			// output is then visible and the sources replay it.
			logger.Warn("restoring from an older checkpoint than the newest: output committed by the skipped checkpoints may be written again (at-least-once for that span)",
				"checkpoint", id, "skipped", skipped)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w in %s", ErrNoCheckpoint, jobDir)
}

// Materialize puts every file of an operator subtask's snapshot (shared
// files included) under its written name into a new directory below
// scratch, and returns that directory. Files are hard links when possible:
// treat them as read-only.
func (m *Metadata) Materialize(operatorID string, subtask int, scratch string) (string, error) {
	op := m.Operator(operatorID)
	if op == nil {
		return "", fmt.Errorf("checkpoint %d has no state of operator %s", m.ID, operatorID)
	}
	st := op.Subtask(subtask)
	if st == nil {
		return "", fmt.Errorf("checkpoint %d has no state of operator %s subtask %d", m.ID, operatorID, subtask)
	}
	dir := filepath.Join(scratch, fmt.Sprintf("%s-%d", operatorID, subtask))
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("materialize: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("materialize: %w", err)
	}
	for _, f := range st.Files {
		src, dst := m.Path(f), filepath.Join(dir, f.Name)
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return "", fmt.Errorf("materialize %s: %w", f.Path, err)
		}
	}
	return dir, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
