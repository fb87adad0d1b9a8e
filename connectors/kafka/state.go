package kafka

import (
	"context"
	"encoding/binary"
	"github.com/streamsql/streamsql/connectors/internal/record"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
)

const (
	positionVersion = 1
	pendingVersion  = 1
)

// Position implements connectors.CheckpointedSource: the next offset of
// every partition of this subtask and, for upsert-kafka, the last record
// of every key (the before-images of later updates):
//
//	version byte (1)
//	uvarint parallelism, uvarint subtask, uvarint records skipped
//	uvarint partitions, each: string topic, uvarint partition, uvarint next offset
//	uvarint keys, each: bytes key, bytes value, string topic, uvarint partition,
//	        uvarint offset, varint timestamp ms, varint timestamp type, varint leader epoch
//
// (strings and bytes are a uvarint length and the bytes). Keys are sorted
// so equal states encode equally.
func (s *source) Position() ([]byte, error) {
	if !s.opened {
		return nil, s.errorf("position before Open")
	}
	b := []byte{positionVersion}
	b = binary.AppendUvarint(b, uint64(s.parallelism))
	b = binary.AppendUvarint(b, uint64(s.subtask))
	b = binary.AppendUvarint(b, uint64(s.skipped))
	b = binary.AppendUvarint(b, uint64(len(s.parts)))
	for _, p := range s.parts {
		b = appendBytes(b, []byte(p.topic))
		b = binary.AppendUvarint(b, uint64(p.id))
		b = binary.AppendUvarint(b, uint64(p.next))
	}
	keys := make([]string, 0, len(s.state))
	for k := range s.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		st := s.state[k]
		b = appendBytes(b, st.key)
		b = appendBytes(b, st.value)
		b = appendBytes(b, []byte(st.meta.topic))
		b = binary.AppendUvarint(b, uint64(st.meta.partition))
		b = binary.AppendUvarint(b, uint64(st.meta.offset))
		b = binary.AppendVarint(b, st.meta.ts)
		b = binary.AppendVarint(b, int64(st.meta.tsType))
		b = binary.AppendVarint(b, int64(st.meta.epoch))
	}
	return b, nil
}

// Seek implements connectors.CheckpointedSource: the partitions continue
// at the checkpoint's offsets (the truth on restore, whatever the group
// has committed). A partition that is new since the checkpoint starts at
// its earliest offset, as in Flink.
func (s *source) Seek(pos []byte) error {
	if !s.opened {
		return s.errorf("seek before Open")
	}
	if s.added {
		return s.errorf("seek after Next")
	}
	r := reader{B: pos}
	if v := r.Byte(); r.Err == nil && v != positionVersion {
		return s.errorf("invalid position: unknown version %d", v)
	}
	par, sub, skipped := r.Uvarint(), r.Uvarint(), r.Uvarint()
	if r.Err == nil && par != uint64(s.parallelism) {
		return s.errorf("not supported yet: restoring a %s source at a different parallelism (checkpoint %d, now %d)",
			s.cfg.connector, par, s.parallelism)
	}
	if r.Err == nil && sub != uint64(s.subtask) {
		return s.errorf("position of subtask %d restored into subtask %d", sub, s.subtask)
	}
	n := r.Uvarint()
	seen := map[tp]bool{}
	for i := uint64(0); i < n && r.Err == nil; i++ {
		topic, id, next := string(r.Bytes()), int32(r.Uvarint()), int64(r.Uvarint())
		if r.Err != nil {
			break
		}
		p := s.byTP[tp{topic, id}]
		if p == nil {
			return s.errorf("the checkpoint reads topic '%s' partition %d, which this subtask no longer owns (partitions or topics changed)", topic, id)
		}
		p.next = next
		seen[tp{topic, id}] = true
	}
	for _, p := range s.parts {
		if !seen[tp{p.topic, p.id}] {
			p.next = 0 // new since the checkpoint: the client resets to the start
		}
	}
	keys := r.Uvarint()
	if keys > 0 && s.state == nil && r.Err == nil {
		return s.errorf("invalid position: upsert state for a kafka table")
	}
	for i := uint64(0); i < keys && r.Err == nil; i++ {
		var st stored
		st.key, st.value = r.Bytes(), r.Bytes()
		st.meta.topic = string(r.Bytes())
		st.meta.partition, st.meta.offset = int32(r.Uvarint()), int64(r.Uvarint())
		st.meta.ts, st.meta.tsType, st.meta.epoch = r.Varint(), int8(r.Varint()), int32(r.Varint())
		if st.value == nil {
			st.value = []byte{}
		}
		s.state[string(st.key)] = st
	}
	if err := r.Done(); err != nil {
		return s.errorf("invalid position: %w", err)
	}
	s.skipped = int64(skipped)
	return nil
}

// reader decodes a position or pending record (record.Reader).
type reader = record.Reader

var appendBytes = record.AppendBytes

// CommitPosition implements connectors.PositionCommitter: when a checkpoint
// completes, the offsets it holds are committed to 'properties.group.id'
// (as Flink does, for monitoring lag; restores use the checkpoint). Without
// a group id there is nothing to do.
func (s *source) CommitPosition(ctx context.Context, pos []byte) error {
	if s.cfg.groupID == "" || s.client == nil {
		return nil
	}
	r := reader{B: pos}
	if v := r.Byte(); r.Err == nil && v != positionVersion {
		return s.errorf("invalid position: unknown version %d", v)
	}
	r.Uvarint()
	r.Uvarint()
	r.Uvarint()
	n := r.Uvarint()
	offsets := kadm.Offsets{}
	for i := uint64(0); i < n && r.Err == nil; i++ {
		topic, id, next := string(r.Bytes()), int32(r.Uvarint()), int64(r.Uvarint())
		if r.Err == nil {
			offsets.Add(kadm.Offset{Topic: topic, Partition: id, At: next, LeaderEpoch: -1})
		}
	}
	if r.Err != nil {
		return s.errorf("invalid position: %w", r.Err)
	}
	if len(offsets) == 0 {
		return nil
	}
	resp, err := kadm.NewClient(s.client).CommitOffsets(ctx, s.cfg.groupID, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return s.errorf("commit offsets to group '%s': %w", s.cfg.groupID, err)
	}
	return nil
}
