package state

import "bytes"

// CompareNamespaces orders namespaces by (length, bytes): the order of the
// rocks layout, where a namespace is stored after its 1-byte length.
func CompareNamespaces(a, b []byte) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return bytes.Compare(a, b)
}

// CompareKeys orders keys by (key group, length, bytes), the iteration
// order of every backend.
func CompareKeys(kgA int, a []byte, kgB int, b []byte) int {
	if kgA != kgB {
		if kgA < kgB {
			return -1
		}
		return 1
	}
	return CompareNamespaces(a, b)
}
