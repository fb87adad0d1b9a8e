package state

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

var errShortKey = errors.New("state: truncated key")

// KeyDecoder turns keys made by KeyEncoder back into column values, for
// operators that emit their group keys from state (windows firing).
type KeyDecoder struct {
	kinds []colKind
	str   []byte
}

// NewKeyDecoder prepares a decoder for key columns of the given types.
func NewKeyDecoder(types []arrow.DataType) (*KeyDecoder, error) {
	d := &KeyDecoder{}
	for _, t := range types {
		k, err := kindOf(t)
		if err != nil {
			return nil, err
		}
		d.kinds = append(d.kinds, k)
	}
	return d, nil
}

// AppendTo decodes key and appends one value to each builder; builders[i]
// must match the i-th type given to NewKeyDecoder.
func (d *KeyDecoder) AppendTo(key []byte, builders []array.Builder) error {
	if len(builders) != len(d.kinds) {
		return fmt.Errorf("state: %d builders for %d key columns", len(builders), len(d.kinds))
	}
	for c, k := range d.kinds {
		if len(key) == 0 {
			return errShortKey
		}
		tag := key[0]
		key = key[1:]
		if tag == tagNull {
			builders[c].AppendNull()
			continue
		}
		if tag != tagValue {
			return fmt.Errorf("state: bad key tag %#x", tag)
		}
		var err error
		key, err = d.decodeValue(k, key, builders[c])
		if err != nil {
			return err
		}
	}
	if len(key) != 0 {
		return fmt.Errorf("state: %d trailing bytes after key", len(key))
	}
	return nil
}

func (d *KeyDecoder) decodeValue(k colKind, key []byte, b array.Builder) ([]byte, error) {
	switch k {
	case colInt64, colFloat64:
		if len(key) < 8 {
			return nil, errShortKey
		}
		u := binary.BigEndian.Uint64(key)
		if bb, ok := b.(*array.Int64Builder); ok && k == colInt64 {
			bb.Append(int64(u ^ (1 << 63)))
		} else if fb, ok := b.(*array.Float64Builder); ok && k == colFloat64 {
			fb.Append(floatOfOrderedBits(u))
		} else {
			return nil, fmt.Errorf("state: builder %T does not match key column", b)
		}
		return key[8:], nil
	case colInt32:
		if len(key) < 4 {
			return nil, errShortKey
		}
		ib, ok := b.(*array.Int32Builder)
		if !ok {
			return nil, fmt.Errorf("state: builder %T does not match key column", b)
		}
		ib.Append(int32(binary.BigEndian.Uint32(key) ^ (1 << 31)))
		return key[4:], nil
	case colBool:
		if len(key) < 1 {
			return nil, errShortKey
		}
		bb, ok := b.(*array.BooleanBuilder)
		if !ok {
			return nil, fmt.Errorf("state: builder %T does not match key column", b)
		}
		bb.Append(key[0] != 0)
		return key[1:], nil
	case colString:
		sb, ok := b.(*array.StringBuilder)
		if !ok {
			return nil, fmt.Errorf("state: builder %T does not match key column", b)
		}
		d.str = d.str[:0]
		for i := 0; ; i++ {
			if i+1 >= len(key) {
				return nil, errShortKey
			}
			if key[i] != 0 {
				d.str = append(d.str, key[i])
				continue
			}
			switch key[i+1] {
			case 0xFF:
				d.str = append(d.str, 0)
				i++
			case 0x01:
				sb.BinaryBuilder.Append(d.str)
				return key[i+2:], nil
			default:
				return nil, fmt.Errorf("state: bad string escape %#x", key[i+1])
			}
		}
	}
	return nil, fmt.Errorf("state: null key column carries a value")
}
