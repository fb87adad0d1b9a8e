package format

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/golang/snappy"

	"github.com/streamsql/streamsql/exec/batch"
)

// Avro object container files (the Avro specification's "Object Container
// Files"): a header with the magic "Obj\x01", a metadata map (avro.schema,
// avro.codec) and a 16-byte sync marker, then blocks of records: a record
// count, the byte size of the (compressed) records, the records, and the
// sync marker again. We write and read them with our codec; goavro's OCF
// reader and writer are the cross-check in the tests.

var containerMagic = []byte{'O', 'b', 'j', 1}

const (
	// containerBlockBytes is when a block is written: Avro's default sync
	// interval is 64 KB of uncompressed records.
	containerBlockBytes = 64 << 10
	// maxContainerBytes bounds a header value or a block, so a damaged
	// file cannot make us allocate without limit.
	maxContainerBytes = 256 << 20
)

// ContainerWriter writes an Avro container file of the format's derived
// schema, compressed with 'avro.codec'.
type ContainerWriter struct {
	w       io.Writer
	codec   string
	sync    [16]byte
	enc     *avroEncoder
	block   []byte // encoded records of the block being filled
	count   int64
	out     []byte // the block as written
	zbuf    bytes.Buffer
	zout    []byte
	zw      *flate.Writer
	written int64
}

// NewContainerWriter writes the container header to w and returns a
// writer for records. Only the avro format has containers.
func (f *Format) NewContainerWriter(w io.Writer) (*ContainerWriter, error) {
	if !f.Container() {
		return nil, fmt.Errorf("format '%s' has no container files", f.name)
	}
	cw := &ContainerWriter{w: w, codec: f.avro.codec, enc: newAvroEncoder(f.avroPlan)}
	if _, err := rand.Read(cw.sync[:]); err != nil {
		return nil, fmt.Errorf("avro container: sync marker: %w", err)
	}
	h := append([]byte(nil), containerMagic...)
	h = appendLong(h, 2) // two metadata entries
	h = appendAvroString(h, "avro.codec")
	h = appendAvroString(h, cw.codec)
	h = appendAvroString(h, "avro.schema")
	h = appendAvroString(h, f.avroSchema)
	h = appendLong(h, 0)
	h = append(h, cw.sync[:]...)
	if err := cw.write(h); err != nil {
		return nil, err
	}
	return cw, nil
}

func appendAvroString(dst []byte, s string) []byte {
	dst = appendLong(dst, int64(len(s)))
	return append(dst, s...)
}

func (cw *ContainerWriter) write(p []byte) error {
	n, err := cw.w.Write(p)
	cw.written += int64(n)
	if err != nil {
		return fmt.Errorf("avro container: %w", err)
	}
	return nil
}

// Append encodes row of b into the current block, writing the block out
// when it is full.
func (cw *ContainerWriter) Append(b batch.Batch, row int) error {
	cw.block = cw.enc.Encode(cw.block, b, row)
	cw.count++
	if len(cw.block) >= containerBlockBytes {
		return cw.Flush()
	}
	return nil
}

// Size is the number of bytes written plus those of the unwritten block
// (uncompressed).
func (cw *ContainerWriter) Size() int64 { return cw.written + int64(len(cw.block)) }

// Flush writes the current block, if it has records. After Flush
// everything appended is in the file, which is then a complete container.
func (cw *ContainerWriter) Flush() error {
	if cw.count == 0 {
		return nil
	}
	data := cw.block
	switch cw.codec {
	case "deflate":
		cw.zbuf.Reset()
		if cw.zw == nil {
			// Level 1: about 5 times the speed of the default level 6
			// (3.5 M against 0.6 M rows/s through the filesystem sink),
			// for somewhat larger files.
			cw.zw, _ = flate.NewWriter(&cw.zbuf, flate.BestSpeed) // the level is valid
		} else {
			cw.zw.Reset(&cw.zbuf)
		}
		if _, err := cw.zw.Write(data); err != nil {
			return fmt.Errorf("avro container: deflate: %w", err)
		}
		if err := cw.zw.Close(); err != nil {
			return fmt.Errorf("avro container: deflate: %w", err)
		}
		data = cw.zbuf.Bytes()
	case "snappy":
		z := snappy.Encode(cw.zout[:cap(cw.zout)], data)
		cw.zout = binary.BigEndian.AppendUint32(z, crc32.ChecksumIEEE(cw.block))
		data = cw.zout
	}
	out := appendLong(cw.out[:0], cw.count)
	out = appendLong(out, int64(len(data)))
	out = append(out, data...)
	out = append(out, cw.sync[:]...)
	cw.out = out
	cw.block, cw.count = cw.block[:0], 0
	return cw.write(out)
}

// ContainerReader reads the records of an Avro container file into rows.
// The writer schema in the header must have the table's fields (see
// planFromWriter for what may differ). Positions are block offsets and
// record indexes within the block, so a reader can resume mid-file.
type ContainerReader struct {
	f      *Format
	r      *bufio.Reader
	plan   *avroPlan
	codec  string
	schema string
	sync   [16]byte

	offset     int64 // bytes consumed from the start of the file
	blockStart int64 // offset of the block being read (or the next one)
	index      int64 // records of that block already returned
	left       int64 // records of the block not yet returned
	data       []byte
	pos        int
	raw        []byte
	dbuf       []byte // decompressed blocks
	scratch    *RowBuilder
}

// NewContainerReader reads the container header from r, which must be at
// the start of the file.
func (f *Format) NewContainerReader(r io.Reader) (*ContainerReader, error) {
	if !f.Container() {
		return nil, fmt.Errorf("format '%s' has no container files", f.name)
	}
	cr := &ContainerReader{f: f, r: bufio.NewReaderSize(r, 256<<10)}
	var magic [4]byte
	if err := cr.full(magic[:]); err != nil || !bytes.Equal(magic[:], containerMagic) {
		return nil, errors.New("not an Avro container file (no 'Obj' magic at its start)")
	}
	meta := map[string][]byte{}
	for {
		n, err := cr.long()
		if err != nil {
			return nil, fmt.Errorf("avro container header: %w", err)
		}
		if n == 0 {
			break
		}
		if n < 0 { // a negative count is followed by the block's size
			n = -n
			if _, err := cr.long(); err != nil {
				return nil, fmt.Errorf("avro container header: %w", err)
			}
		}
		for range n {
			k, err := cr.bytes()
			if err != nil {
				return nil, fmt.Errorf("avro container header: %w", err)
			}
			v, err := cr.bytes()
			if err != nil {
				return nil, fmt.Errorf("avro container header: %w", err)
			}
			meta[string(k)] = v
		}
	}
	if err := cr.full(cr.sync[:]); err != nil {
		return nil, fmt.Errorf("avro container header: %w", err)
	}
	switch c := string(meta["avro.codec"]); c {
	case "", "null":
		cr.codec = "null"
	case "deflate", "snappy":
		cr.codec = c
	default:
		return nil, fmt.Errorf("not supported yet: Avro container codec '%s' (supported: null, deflate, snappy)", c)
	}
	cr.schema = string(meta["avro.schema"])
	if cr.schema == "" {
		return nil, errors.New("avro container header has no avro.schema")
	}
	plan, err := planFromWriter(cr.schema, f.schema)
	if err != nil {
		return nil, fmt.Errorf("avro container: %w", err)
	}
	cr.plan = plan
	cr.blockStart = cr.offset
	return cr, nil
}

// WriterSchema is the schema in the file's header.
func (cr *ContainerReader) WriterSchema() string { return cr.schema }

// Position is where the next record is: the offset of its block in the
// file and its index in the block.
func (cr *ContainerReader) Position() (blockOffset, index int64) { return cr.blockStart, cr.index }

// Resume continues reading at a position Position returned, from r,
// which must be at blockOffset in the file.
func (cr *ContainerReader) Resume(r io.Reader, blockOffset, index int64) error {
	cr.r.Reset(r)
	cr.offset, cr.blockStart, cr.index, cr.left, cr.pos, cr.data = blockOffset, blockOffset, 0, 0, 0, nil
	if index == 0 {
		return nil
	}
	if cr.scratch == nil {
		cr.scratch = NewRowBuilder(cr.f.schema, nil)
	}
	for cr.index < index {
		n, err := cr.Read(cr.scratch, int(min(index-cr.index, 4096)))
		cr.scratch.Build().Release()
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return fmt.Errorf("avro container: the block at byte %d has fewer than %d records", blockOffset, index)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Read decodes up to max records into into and returns how many. It
// returns io.EOF at the end of the file. A record that fails to decode
// returns an error naming its block and index, wrapping the
// *ParseError; SkipBlock then drops the rest of its block (its record
// boundaries are lost) so reading can go on.
func (cr *ContainerReader) Read(into *RowBuilder, max int) (int, error) {
	n := 0
	for n < max {
		if cr.left == 0 {
			if cr.data != nil {
				if err := cr.endBlock(); err != nil {
					return n, err
				}
			}
			ok, err := cr.nextBlock()
			if err != nil {
				return n, err
			}
			if !ok {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			continue
		}
		k, err := cr.plan.decode(cr.data[cr.pos:], into)
		if err != nil {
			into.DiscardRow()
			return n, fmt.Errorf("block at byte %d, record %d: %w", cr.blockStart, cr.index, err)
		}
		into.EndRow()
		cr.pos += k
		cr.index++
		cr.left--
		n++
	}
	if cr.left == 0 && cr.data != nil {
		if err := cr.endBlock(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// SkipBlock drops the records of the current block not yet returned and
// returns how many they were.
func (cr *ContainerReader) SkipBlock() int64 {
	n := cr.left
	cr.left, cr.pos, cr.data = 0, 0, nil
	cr.blockStart, cr.index = cr.offset, 0
	return n
}

// endBlock checks the finished block took all its bytes and moves the
// position to the next block.
func (cr *ContainerReader) endBlock() error {
	if cr.pos != len(cr.data) {
		return fmt.Errorf("avro container: block at byte %d has %d bytes after its %d records", cr.blockStart, len(cr.data)-cr.pos, cr.index)
	}
	cr.data, cr.pos = nil, 0
	cr.blockStart, cr.index = cr.offset, 0
	return nil
}

// nextBlock reads the next block; false at the end of the file.
func (cr *ContainerReader) nextBlock() (bool, error) {
	if _, err := cr.r.Peek(1); errors.Is(err, io.EOF) {
		return false, nil
	}
	cr.blockStart, cr.index = cr.offset, 0
	count, err := cr.long()
	if err != nil {
		return false, cr.blockErr(err)
	}
	size, err := cr.long()
	if err != nil {
		return false, cr.blockErr(err)
	}
	if count < 0 || size < 0 || size > maxContainerBytes {
		return false, cr.blockErr(fmt.Errorf("invalid record count %d or size %d", count, size))
	}
	raw, err := cr.readN(cr.raw[:0], size)
	cr.raw = raw
	if err != nil {
		return false, cr.blockErr(err)
	}
	var sync [16]byte
	if err := cr.full(sync[:]); err != nil {
		return false, cr.blockErr(err)
	}
	if sync != cr.sync {
		return false, cr.blockErr(errors.New("sync marker does not match the header's (damaged file)"))
	}
	switch cr.codec {
	case "null":
		cr.data = cr.raw
	case "deflate":
		out := bytes.NewBuffer(cr.dbuf[:0])
		zr := flate.NewReader(bytes.NewReader(cr.raw))
		_, err := io.Copy(out, io.LimitReader(zr, maxContainerBytes+1))
		zr.Close()
		if err != nil {
			return false, cr.blockErr(fmt.Errorf("deflate: %w", err))
		}
		if out.Len() > maxContainerBytes {
			return false, cr.blockErr(errors.New("deflated block too large"))
		}
		cr.dbuf = out.Bytes()
		cr.data = cr.dbuf
	case "snappy":
		if len(cr.raw) < 4 {
			return false, cr.blockErr(errors.New("snappy block without checksum"))
		}
		z, sum := cr.raw[:len(cr.raw)-4], binary.BigEndian.Uint32(cr.raw[len(cr.raw)-4:])
		// Snappy expands at most about 22 times (a 3-byte copy of 64
		// bytes): a larger claimed length is damage, not data.
		if n, err := snappy.DecodedLen(z); err != nil || n > maxContainerBytes || n > 32*len(z)+64 {
			return false, cr.blockErr(fmt.Errorf("snappy: invalid block"))
		}
		d, err := snappy.Decode(cr.dbuf[:cap(cr.dbuf)], z)
		if err != nil {
			return false, cr.blockErr(fmt.Errorf("snappy: %w", err))
		}
		if crc32.ChecksumIEEE(d) != sum {
			return false, cr.blockErr(errors.New("snappy: checksum mismatch"))
		}
		cr.dbuf, cr.data = d, d
	}
	if cr.data == nil {
		cr.data = []byte{}
	}
	cr.pos, cr.left = 0, count
	if count == 0 {
		cr.data = nil
		cr.blockStart = cr.offset
	}
	return true, nil
}

func (cr *ContainerReader) blockErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("truncated block")
	}
	return fmt.Errorf("avro container: block at byte %d: %w", cr.blockStart, err)
}

func (cr *ContainerReader) full(p []byte) error {
	n, err := io.ReadFull(cr.r, p)
	cr.offset += int64(n)
	return err
}

func (cr *ContainerReader) long() (int64, error) {
	var u uint64
	for shift := uint(0); ; shift += 7 {
		c, err := cr.r.ReadByte()
		if err != nil {
			if shift > 0 && errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		cr.offset++
		if shift == 63 && c > 1 {
			return 0, errors.New("varint longer than 64 bits")
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
}

func (cr *ContainerReader) bytes() ([]byte, error) {
	n, err := cr.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxContainerBytes {
		return nil, fmt.Errorf("invalid length %d", n)
	}
	return cr.readN(nil, n)
}

// readN reads n bytes into dst, growing it as the bytes arrive rather
// than trusting n up front (a damaged length must not allocate 256 MB).
func (cr *ContainerReader) readN(dst []byte, n int64) ([]byte, error) {
	if int64(cap(dst)) >= n {
		dst = dst[:n]
		return dst, cr.full(dst)
	}
	buf := bytes.NewBuffer(dst[:0])
	buf.Grow(int(min(n, 1<<20)))
	m, err := buf.ReadFrom(io.LimitReader(cr.r, n))
	cr.offset += m
	if err == nil && m < n {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), err
}
