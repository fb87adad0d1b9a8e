package record

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestRoundTripAndErrors(t *testing.T) {
	b := []byte{7}
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -5)
	b = AppendString(b, "part-1")
	b = AppendBytes(b, nil)
	b = binary.LittleEndian.AppendUint64(b, 1<<40)
	r := Reader{B: b}
	if r.Byte() != 7 || r.Int() != 300 || r.Varint() != -5 || r.String() != "part-1" || r.Bytes() != nil || r.Uint64() != 1<<40 {
		t.Fatalf("round trip failed: %v", r.Err)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	// A length past the end is truncation; the error sticks.
	r = Reader{B: AppendString(nil, "abcdef")[:4]}
	if r.String() != "" || !errors.Is(r.Err, ErrTruncated) || r.Uvarint() != 0 || !errors.Is(r.Done(), ErrTruncated) {
		t.Fatalf("truncated string: %v", r.Err)
	}
	r = Reader{B: []byte{1, 2}}
	r.Byte()
	if err := r.Done(); err == nil {
		t.Fatal("trailing bytes not reported")
	}
}
