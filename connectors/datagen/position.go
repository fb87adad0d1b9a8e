package datagen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// positionVersion is the first byte of every position; a layout change
// gets a new version so old checkpoints are refused rather than misread.
const positionVersion = 1

// Position implements connectors.CheckpointedSource. Values are a function
// of the row index, and the clock-relative ones of the row count and the
// anchor (see schedule), so those two determine every later row:
//
//	version byte (1)
//	uvarint parallelism, uvarint subtask
//	uvarint rows done by this subtask
//	varint  clock anchor, µs since the epoch
func (s *source) Position() ([]byte, error) {
	if !s.opened {
		return nil, fmt.Errorf("datagen '%s': position before Open", s.table)
	}
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64)
	b = append(b, positionVersion)
	b = binary.AppendUvarint(b, uint64(s.parallelism))
	b = binary.AppendUvarint(b, uint64(s.subtask))
	b = binary.AppendUvarint(b, uint64(s.count))
	b = binary.AppendVarint(b, s.clock.anchor)
	return b, nil
}

// Seek implements connectors.CheckpointedSource. The rate limit starts
// afresh from the position (no burst to catch up the downtime).
func (s *source) Seek(pos []byte) error {
	if !s.opened {
		return fmt.Errorf("datagen '%s': seek before Open", s.table)
	}
	p, err := decodePosition(pos)
	if err != nil {
		return fmt.Errorf("datagen '%s': invalid position: %w", s.table, err)
	}
	if p.parallelism != uint64(s.parallelism) {
		return fmt.Errorf("datagen '%s': not supported yet: restoring a datagen source at a different parallelism (checkpoint %d, now %d)",
			s.table, p.parallelism, s.parallelism)
	}
	if p.subtask != uint64(s.subtask) {
		return fmt.Errorf("datagen '%s': position of subtask %d restored into subtask %d", s.table, p.subtask, s.subtask)
	}
	// The largest row count this subtask can have reached; more means the
	// table definition changed (a smaller number-of-rows, shorter sequence).
	limit := (math.MaxInt64 - s.first) / s.stride
	if s.bounded {
		limit = s.end - s.first
	}
	if p.count > uint64(limit) {
		return fmt.Errorf("datagen '%s': position row %d is beyond this subtask's %d rows (did the table change?)", s.table, p.count, limit)
	}
	s.count = int64(p.count)
	s.next = s.first + s.count*s.stride
	s.clock.anchor = p.anchor
	s.clock.zoneFrom, s.clock.zoneTo = 0, 0
	s.started, s.emitted = time.Time{}, 0
	return nil
}

type position struct {
	parallelism, subtask, count uint64
	anchor                      int64
}

func decodePosition(b []byte) (position, error) {
	var p position
	if len(b) == 0 {
		return p, errors.New("empty")
	}
	if b[0] != positionVersion {
		return p, fmt.Errorf("unknown version %d", b[0])
	}
	b = b[1:]
	for _, dst := range []*uint64{&p.parallelism, &p.subtask, &p.count} {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return p, errors.New("truncated")
		}
		*dst, b = v, b[n:]
	}
	v, n := binary.Varint(b)
	if n <= 0 {
		return p, errors.New("truncated")
	}
	p.anchor, b = v, b[n:]
	if len(b) != 0 {
		return p, fmt.Errorf("%d trailing bytes", len(b))
	}
	return p, nil
}
