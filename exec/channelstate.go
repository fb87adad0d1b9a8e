package exec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow/ipc"

	"github.com/streamsql/streamsql/exec/batch"
)

// Channel state (the in-flight data of an unaligned checkpoint) is a
// sequence of frames, one per batch: u8 flags (1 = row kinds follow),
// u32 row-kind count + kinds, u32 length + an Arrow IPC stream holding the
// record. Each frame carries its own schema, so batches of different
// layouts never meet in one IPC stream.
const channelStateMagic = "SSQLCS01"

func writeChannelState(w io.Writer, elems []Element) error {
	if _, err := io.WriteString(w, channelStateMagic); err != nil {
		return err
	}
	var ipcBuf bytes.Buffer
	for _, e := range elems {
		if e.Kind != Data {
			continue
		}
		b := e.Batch
		var hdr []byte
		if b.Kinds != nil {
			hdr = append(hdr, 1)
			hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(b.Kinds)))
			for _, k := range b.Kinds {
				hdr = append(hdr, byte(k))
			}
		} else {
			hdr = append(hdr, 0)
		}
		ipcBuf.Reset()
		iw := ipc.NewWriter(&ipcBuf, ipc.WithSchema(b.Rec.Schema()))
		if err := iw.Write(b.Rec); err != nil {
			return fmt.Errorf("channel state: %w", err)
		}
		if err := iw.Close(); err != nil {
			return fmt.Errorf("channel state: %w", err)
		}
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(ipcBuf.Len()))
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		if _, err := w.Write(ipcBuf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func readChannelState(data []byte) ([]Element, error) {
	if !bytes.HasPrefix(data, []byte(channelStateMagic)) {
		return nil, fmt.Errorf("channel state: not a channel-state file")
	}
	data = data[len(channelStateMagic):]
	var out []Element
	for len(data) > 0 {
		flags := data[0]
		data = data[1:]
		var kinds []batch.RowKind
		if flags&1 != 0 {
			if len(data) < 4 {
				return nil, fmt.Errorf("channel state: truncated")
			}
			n := int(binary.LittleEndian.Uint32(data))
			data = data[4:]
			if n > len(data) {
				return nil, fmt.Errorf("channel state: truncated")
			}
			kinds = make([]batch.RowKind, n)
			for i := range kinds {
				kinds[i] = batch.RowKind(data[i])
			}
			data = data[n:]
		}
		if len(data) < 4 {
			return nil, fmt.Errorf("channel state: truncated")
		}
		n := int(binary.LittleEndian.Uint32(data))
		data = data[4:]
		if n > len(data) {
			return nil, fmt.Errorf("channel state: truncated")
		}
		r, err := ipc.NewReader(bytes.NewReader(data[:n]))
		if err != nil {
			return nil, fmt.Errorf("channel state: %w", err)
		}
		for r.Next() {
			rec := r.Record()
			rec.Retain()
			var b batch.Batch
			b.Rec = rec
			if kinds != nil {
				if len(kinds) != int(rec.NumRows()) {
					return nil, fmt.Errorf("channel state: %d row kinds for %d rows", len(kinds), rec.NumRows())
				}
				b.Kinds = kinds
			}
			out = append(out, DataElement(b))
		}
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("channel state: %w", err)
		}
		r.Release()
		data = data[n:]
	}
	return out, nil
}
