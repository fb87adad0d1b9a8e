package rocks

import (
	"encoding/binary"
	"fmt"
)

// Key layout (all big-endian, so byte order is iteration order):
//
//	[state id:1][ns len:1][ns][key group:2][key len:2][key][user key (map state)]
//
// The namespace comes before the key group (DESIGN suggests the reverse):
// a window firing reads one contiguous range per namespace, and listing
// namespaces is a skip-scan. Restoring a key-group range scans the snapshot
// and filters, which a rescale does anyway. State id 0 holds metadata:
//
//	[0]['s'][name] -> [state id][kind]   (names survive restore)
//	[0]['t']       -> [1 if values carry a TTL write stamp, else 0]
//
// Values are [write ms:8 little-endian][payload] with TTL on, else the
// payload. A list payload is a run of [uvarint len][bytes].

const (
	metaID      = 0
	metaState   = 's'
	metaTTL     = 't'
	stampLen    = 8
	maxStates   = 255
	headerBytes = 2 // state id + namespace length
)

func appendPrefix(dst []byte, sid byte, ns []byte) []byte {
	dst = append(dst, sid, byte(len(ns)))
	return append(dst, ns...)
}

func appendEntryKey(dst []byte, sid byte, ns []byte, kg int, key []byte) []byte {
	dst = appendPrefix(dst, sid, ns)
	dst = binary.BigEndian.AppendUint16(dst, uint16(kg))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(key)))
	return append(dst, key...)
}

// parsedKey is a decoded entry key; slices alias the raw key.
type parsedKey struct {
	sid     byte
	ns      []byte
	kg      int
	key     []byte
	userKey []byte
	keyEnd  int // length of the raw key up to the end of key
}

func parseKey(k []byte) (parsedKey, error) {
	var p parsedKey
	if len(k) < headerBytes {
		return p, fmt.Errorf("rocks: short key %x", k)
	}
	p.sid = k[0]
	nsEnd := headerBytes + int(k[1])
	if len(k) < nsEnd+4 {
		return p, fmt.Errorf("rocks: short key %x", k)
	}
	p.ns = k[headerBytes:nsEnd]
	p.kg = int(binary.BigEndian.Uint16(k[nsEnd:]))
	klen := int(binary.BigEndian.Uint16(k[nsEnd+2:]))
	p.keyEnd = nsEnd + 4 + klen
	if len(k) < p.keyEnd {
		return p, fmt.Errorf("rocks: short key %x", k)
	}
	p.key = k[nsEnd+4 : p.keyEnd]
	p.userKey = k[p.keyEnd:]
	return p, nil
}

// keyEndOf is parseKey's keyEnd for a cache key (0 if malformed).
func keyEndOf(k string) int {
	if len(k) < headerBytes {
		return 0
	}
	nsEnd := headerBytes + int(k[1])
	if len(k) < nsEnd+4 {
		return 0
	}
	klen := int(k[nsEnd+2])<<8 | int(k[nsEnd+3])
	end := nsEnd + 4 + klen
	if len(k) < end {
		return 0
	}
	return end
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix (nil if there is none).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func splitValue(raw []byte, ttl bool) (ts int64, payload []byte, err error) {
	if !ttl {
		return 0, raw, nil
	}
	if len(raw) < stampLen {
		return 0, nil, fmt.Errorf("rocks: value of %d bytes lacks its write stamp", len(raw))
	}
	return int64(binary.LittleEndian.Uint64(raw)), raw[stampLen:], nil
}

func appendValue(dst []byte, ttl bool, ts int64, payload []byte) []byte {
	if ttl {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(ts))
	}
	return append(dst, payload...)
}
