package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/streamsql/streamsql/connectors/internal/record"
	"strings"

	"github.com/streamsql/streamsql/connectors"
)

// txSink is 'exactly-once': a two-phase-commit sink whose pre-committed
// rows travel in the checkpoint.
//
//   - Between barriers rows are buffered (reduced per key as they come).
//   - PreCommit seals the buffer into a chunk of COPY text for the
//     checkpoint and returns every chunk not yet applied; the runtime
//     stores that in the checkpoint.
//   - Commit(n), once checkpoint n is complete, applies the chunks of
//     checkpoints up to n, each in one transaction that also advances this
//     sink instance's row in the progress table to its checkpoint id; a
//     transaction that finds the row at that checkpoint or later writes
//     nothing. So a chunk is applied at most once, whatever is retried.
//   - Recover applies the restored checkpoint's chunks the same way: those
//     a Commit already applied are skipped, the rest (a crash between the
//     checkpoint completing and its commit) are applied now.
//
// A sink instance names itself with a random epoch (its progress row is
// keyed by epoch and subtask), so checkpoint ids of another run, or of a
// restore from an older checkpoint that numbers checkpoints anew, never
// make it skip rows; a chunk carries the epoch of the instance that
// pre-committed it. Why the checkpoint rather than a staging table in the
// database: nothing is written to the database before the checkpoint
// completes (no cleanup of abandoned staging rows, no double write of
// every row), the checkpoint is the single source of truth for what is
// pending, and the chunk is already in the form the server ingests, so
// Commit and Recover need no decoding. The cost is checkpoint size: a
// checkpoint holds the (reduced) rows of its interval.
type txSink struct {
	*sink
	epoch   string
	pending []pendingTx // pre-committed, not yet applied, in checkpoint order
}

type pendingTx struct {
	epoch      string
	checkpoint int64
	ch         chunk
}

var _ connectors.TransactionalSink = (*txSink)(nil)

// PreCommit implements connectors.TransactionalSink.
func (s *txSink) PreCommit(_ context.Context, checkpointID int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened {
		return nil, fmt.Errorf("postgres sink '%s': pre-commit of a sink that is not open", s.cfg.table)
	}
	if s.bgErr != nil {
		return nil, s.bgErr
	}
	s.deferred = true
	if s.epoch == "" {
		s.epoch = newEpoch()
	}
	if ch := s.buf.seal(); ch.rows() > 0 {
		s.pending = append(s.pending, pendingTx{epoch: s.epoch, checkpoint: checkpointID, ch: ch})
	}
	return s.encodeState(), nil
}

// Commit implements connectors.TransactionalSink.
func (s *txSink) Commit(ctx context.Context, checkpointID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened {
		return fmt.Errorf("postgres sink '%s': commit of a sink that is not open", s.cfg.table)
	}
	for len(s.pending) > 0 && s.pending[0].checkpoint <= checkpointID {
		if err := s.applyPending(ctx, &s.pending[0]); err != nil {
			return err
		}
		s.pending = s.pending[1:]
	}
	return nil
}

func (s *txSink) applyPending(ctx context.Context, p *pendingTx) error {
	what := fmt.Sprintf("commit checkpoint %d (%d rows)", p.checkpoint, p.ch.rows())
	return s.retry(ctx, what, func(ctx context.Context) error {
		applied, err := s.apply(ctx, &p.ch, &progressMark{epoch: p.epoch, checkpoint: p.checkpoint})
		if err == nil && !applied {
			s.log.Debug("postgres sink: checkpoint already applied", "checkpoint", p.checkpoint, "epoch", p.epoch)
		}
		return err
	})
}

// Recover implements connectors.TransactionalSink: it switches the sink to
// apply rows only at completed checkpoints, and applies what the restored
// checkpoint holds unless the progress table shows it applied. Nothing
// else needs removing: nothing reaches the database before a commit.
func (s *txSink) Recover(ctx context.Context, pending []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened {
		return fmt.Errorf("postgres sink '%s': recover of a sink that is not open", s.cfg.table)
	}
	s.deferred = true
	if s.epoch == "" {
		s.epoch = newEpoch()
	}
	if len(pending) == 0 {
		return nil
	}
	restored, err := s.decodeState(pending)
	if err != nil {
		return s.errorf(err, "recover")
	}
	for i := range restored {
		if err := s.applyPending(ctx, &restored[i]); err != nil {
			return err
		}
	}
	return nil
}

const txStateVersion = 1

// signature describes the rows a chunk holds, so a restore into a changed
// table definition fails instead of writing columns into the wrong place.
func (s *txSink) signature() string {
	var b strings.Builder
	b.WriteString(s.cfg.target)
	for i, f := range s.cfg.schema.Fields {
		fmt.Fprintf(&b, "|%s %s", f.Name, f.Type.WithNotNull(false))
		for _, k := range s.cfg.pk {
			if k == i {
				b.WriteString(" key")
			}
		}
	}
	return b.String()
}

// encodeState is the pending record:
//
//	byte    version (1)
//	bytes   signature
//	uvarint count, then per chunk: bytes epoch, varint checkpoint,
//	        uvarint rows, bytes upsert lines, uvarint keys, bytes delete lines
//
// (bytes are a uvarint length and the bytes).
func (s *txSink) encodeState() []byte {
	size := 64
	for _, p := range s.pending {
		size += len(p.ch.upserts) + len(p.ch.deletes) + 64
	}
	b := make([]byte, 0, size)
	b = append(b, txStateVersion)
	b = appendBytes(b, []byte(s.signature()))
	b = binary.AppendUvarint(b, uint64(len(s.pending)))
	for _, p := range s.pending {
		b = appendBytes(b, []byte(p.epoch))
		b = binary.AppendVarint(b, p.checkpoint)
		b = binary.AppendUvarint(b, uint64(p.ch.nUpserts))
		b = appendBytes(b, p.ch.upserts)
		b = binary.AppendUvarint(b, uint64(p.ch.nDeletes))
		b = appendBytes(b, p.ch.deletes)
	}
	return b
}

var appendBytes = record.AppendBytes

var errTruncated = errors.New("truncated pending state")

func (s *txSink) decodeState(b []byte) ([]pendingTx, error) {
	if len(b) == 0 || b[0] != txStateVersion {
		return nil, fmt.Errorf("unknown pending state version")
	}
	r := reader{B: b[1:]}
	if sig := string(r.Bytes()); r.Err == nil && sig != s.signature() {
		return nil, fmt.Errorf("the checkpoint's pending rows were written for a different table definition (%s; now %s)", sig, s.signature())
	}
	n := r.Uvarint()
	if r.Err == nil && n > uint64(len(r.B)) {
		return nil, errTruncated
	}
	var out []pendingTx
	for i := uint64(0); i < n && r.Err == nil; i++ {
		var p pendingTx
		p.epoch = string(r.Bytes())
		p.checkpoint = r.Varint()
		p.ch.nUpserts = int(r.Uvarint())
		p.ch.upserts = r.Bytes()
		p.ch.nDeletes = int(r.Uvarint())
		p.ch.deletes = r.Bytes()
		out = append(out, p)
	}
	if r.Err == nil && len(r.B) > 0 {
		return nil, fmt.Errorf("%d trailing bytes in pending state", len(r.B))
	}
	return out, r.Err
}

// reader decodes the pending state (record.Reader).
type reader = record.Reader
