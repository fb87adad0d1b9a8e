package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// Hashmap snapshot file: one file, everything sorted, so equal states give
// equal bytes.
//
//	"SSQLHM01" uvarint(kgStart) uvarint(kgEnd) uvarint(nStates)
//	state:  str(name) kind:u8 uvarint(nNamespaces)
//	ns:     str(ns) uvarint(nEntries)
//	entry:  kg:u16be str(key) uvarint(ts) payload
//	payload value: str(v); map: uvarint(n) {str(uk) uvarint(ts) str(v)};
//	        list: uvarint(n) {str(v)}
//	trailer: crc32c of all the above, u32le
//
// str is uvarint length + bytes. ts is the write time in ms (0 without TTL).
const (
	hmMagic        = "SSQLHM01"
	hmSnapshotFile = "state.hm"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot implements Backend.
func (h *HashMap) Snapshot(dir string) (SnapshotHandle, error) {
	if h.states == nil {
		return SnapshotHandle{}, fmt.Errorf("state: backend is closed")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return SnapshotHandle{}, fmt.Errorf("state: snapshot: %w", err)
	}
	path := filepath.Join(dir, hmSnapshotFile)
	f, err := os.Create(path)
	if err != nil {
		return SnapshotHandle{}, fmt.Errorf("state: snapshot: %w", err)
	}
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<16)
	n, err := h.writeSnapshot(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		_, err = f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
		n += 4
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return SnapshotHandle{}, fmt.Errorf("state: snapshot %s: %w", path, err)
	}
	return SnapshotHandle{
		Backend: "hashmap", Dir: dir, Files: []string{hmSnapshotFile}, Bytes: n,
		KeyGroupStart: h.opts.KeyGroupStart, KeyGroupEnd: h.opts.KeyGroupEnd,
	}, nil
}

// snapWriter appends to a reused buffer and hands it to w in chunks.
type snapWriter struct {
	w   *bufio.Writer
	buf []byte
	n   int64
	err error
}

func (s *snapWriter) uvarint(v uint64) { s.buf = binary.AppendUvarint(s.buf, v) }
func (s *snapWriter) str(b string) {
	s.buf = binary.AppendUvarint(s.buf, uint64(len(b)))
	s.buf = append(s.buf, b...)
}
func (s *snapWriter) bytes(b []byte) {
	s.buf = binary.AppendUvarint(s.buf, uint64(len(b)))
	s.buf = append(s.buf, b...)
}
func (s *snapWriter) flush() {
	if s.err == nil && len(s.buf) > 0 {
		var n int
		n, s.err = s.w.Write(s.buf)
		s.n += int64(n)
	}
	s.buf = s.buf[:0]
}

func (h *HashMap) writeSnapshot(w *bufio.Writer) (int64, error) {
	deadline := h.clock.Deadline()
	on := h.clock.Enabled()
	sw := &snapWriter{w: w}
	sw.buf = append(sw.buf, hmMagic...)
	sw.uvarint(uint64(h.opts.KeyGroupStart))
	sw.uvarint(uint64(h.opts.KeyGroupEnd))
	names := make([]string, 0, len(h.states))
	for name := range h.states {
		names = append(names, name)
	}
	slices.Sort(names)
	sw.uvarint(uint64(len(names)))
	for _, name := range names {
		s := h.states[name]
		sw.str(name)
		sw.buf = append(sw.buf, byte(s.kind))
		spaces := make([]string, 0, len(s.spaces))
		for ns := range s.spaces {
			spaces = append(spaces, ns)
		}
		slices.SortFunc(spaces, compareNamespaceStrings)
		sw.uvarint(uint64(len(spaces)))
		for _, ns := range spaces {
			sp := s.spaces[ns]
			keys := make([]string, 0, len(sp.entries))
			for k, e := range sp.entries {
				if s.live(e, deadline) {
					keys = append(keys, k)
				}
			}
			slices.SortFunc(keys, compareCompositeKeys)
			sw.str(ns)
			sw.uvarint(uint64(len(keys)))
			for _, k := range keys {
				e := sp.entries[k]
				sw.buf = append(sw.buf, k[:2]...)
				sw.str(k[2:])
				sw.uvarint(uint64(e.ts))
				switch s.kind {
				case KindValue:
					sw.bytes(e.val)
				case KindList:
					sw.uvarint(uint64(len(e.list)))
					for _, v := range e.list {
						sw.bytes(v)
					}
				case KindMap:
					uks := make([]string, 0, len(e.m))
					for uk, ue := range e.m {
						if !on || ue.ts >= deadline {
							uks = append(uks, uk)
						}
					}
					slices.Sort(uks)
					sw.uvarint(uint64(len(uks)))
					for _, uk := range uks {
						ue := e.m[uk]
						sw.str(uk)
						sw.uvarint(uint64(ue.ts))
						sw.bytes(ue.val)
					}
				}
				if len(sw.buf) > 1<<15 {
					sw.flush()
				}
			}
		}
	}
	sw.flush()
	return sw.n, sw.err
}

// Restore implements Backend.
func (h *HashMap) Restore(snaps []SnapshotHandle) error {
	if h.states == nil {
		return fmt.Errorf("state: backend is closed")
	}
	if h.restored || len(h.states) > 0 {
		return fmt.Errorf("state: restore into a backend that is already in use")
	}
	h.restored = true
	for _, snap := range snaps {
		if snap.Backend != "hashmap" {
			return fmt.Errorf("not supported yet: restoring a %q snapshot into the hashmap backend", snap.Backend)
		}
		path := filepath.Join(snap.Dir, hmSnapshotFile)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("state: restore: %w", err)
		}
		if err := h.restoreFile(data); err != nil {
			return fmt.Errorf("state: restore %s: %w", path, err)
		}
	}
	return nil
}

var errCorrupt = errors.New("corrupt snapshot")

// snapReader decodes the snapshot format; the first error sticks.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errCorrupt
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *snapReader) fixed(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errCorrupt
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (h *HashMap) restoreFile(data []byte) error {
	if len(data) < len(hmMagic)+4 || string(data[:len(hmMagic)]) != hmMagic {
		return fmt.Errorf("%w: bad header", errCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	r := &snapReader{b: body[len(hmMagic):]}
	r.uvarint() // the snapshot's own key-group range: entries carry theirs
	r.uvarint()
	stamp := func(ts uint64) int64 {
		if !h.clock.Enabled() {
			return 0
		}
		if ts == 0 { // written without TTL: its age is unknown, start now
			return h.clock.Stamp()
		}
		return int64(ts)
	}
	nStates := r.uvarint()
	for i := uint64(0); i < nStates && r.err == nil; i++ {
		name := string(r.bytes())
		kb := r.fixed(1)
		if r.err != nil {
			break
		}
		kind := Kind(kb[0])
		if kind < KindValue || kind > KindList {
			return fmt.Errorf("%w: state kind %d", errCorrupt, kind)
		}
		s, err := h.state(name, kind)
		if err != nil {
			return err
		}
		nSpaces := r.uvarint()
		for j := uint64(0); j < nSpaces && r.err == nil; j++ {
			ns := string(r.bytes())
			nEntries := r.uvarint()
			for k := uint64(0); k < nEntries && r.err == nil; k++ {
				kgb := r.fixed(2)
				key := r.bytes()
				ts := r.uvarint()
				e := &hmEntry{ts: stamp(ts)}
				switch kind {
				case KindValue:
					e.val = append([]byte(nil), r.bytes()...)
				case KindList:
					n := r.uvarint()
					for ; n > 0 && r.err == nil; n-- {
						e.list = append(e.list, append([]byte(nil), r.bytes()...))
					}
				case KindMap:
					n := r.uvarint()
					e.m = make(map[string]*hmEntry, min(n, 1024))
					for ; n > 0 && r.err == nil; n-- {
						uk := string(r.bytes())
						uts := r.uvarint()
						e.m[uk] = &hmEntry{ts: stamp(uts), val: append([]byte(nil), r.bytes()...)}
					}
				}
				if r.err != nil {
					break
				}
				kg := int(binary.BigEndian.Uint16(kgb))
				if kg < h.opts.KeyGroupStart || kg >= h.opts.KeyGroupEnd {
					continue
				}
				sp := s.space([]byte(ns), true)
				sp.entries[string(kgb)+string(key)] = e
			}
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(r.b))
	}
	return nil
}
