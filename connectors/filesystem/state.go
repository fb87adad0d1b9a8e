package filesystem

import (
	"github.com/streamsql/streamsql/connectors/internal/record"
)

// Source positions and sink pending state are small binary records: a
// version byte, then varints and length-prefixed strings. A layout change
// gets a new version so old checkpoints are refused rather than misread.

// stateReader decodes a state record (record.Reader).
type stateReader = record.Reader

var (
	appendString = record.AppendString
	errTruncated = record.ErrTruncated
)

// fnv64 hashes strings, each terminated by a zero byte (so ["ab"] and
// ["a", "b"] differ).
func fnv64(ss ...string) uint64 {
	h := uint64(14695981039346656037)
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h *= 1099511628211 // the terminator (xor with 0 is a no-op)
	}
	return h
}
