package nexmark

// Bids' channel, url and extra columns are not copied per row. An Arrow
// string column is one data buffer plus offsets, value i being
// data[offs[i]:offs[i+1]]: consecutive values are adjacent in the buffer,
// with no gaps and no overlaps. So a column can be a window of a
// precomputed sequence of strings laid end to end only if the batch's rows
// take consecutive entries of the sequence. Each bid therefore takes its
// strings not from its own PRNG but from its place in a block: a block is
// a run of blockEpochs consecutive epochs, its bids take consecutive
// entries of each sequence from a start drawn per block (from the block
// number alone), and a batch never spans two blocks. A bid's strings are
// thus still a function of its event number; parallel subtasks split the
// stream by whole blocks (see generator.blockE) so a batch's rows are
// consecutive bids of one block.

const (
	// seqLen is the number of entries of each precomputed sequence; a
	// block's window starts anywhere in it.
	seqLen = 1 << 16
	// blockRows is about how many rows of a kind a block holds (a full
	// batch), and blockEvents the most events a block spans, so that
	// parallel subtasks stay close in event time even when bids are a
	// small share of the events.
	blockRows   = maxBatchRows
	blockEvents = 1 << 16
	// extraSeqMax bounds the padding lengths that are precomputed
	// (seqLen entries of at most 512 bytes: 32 MiB); longer padding
	// (bid.avg-size above about 450 bytes) is copied per event.
	extraSeqMax = 512
	// maxExtraSeqs bounds how many padding sequences (one per padding
	// size distribution) a Factory keeps.
	maxExtraSeqs = 4
)

// seqText is a precomputed sequence of strings laid end to end: entry i is
// data[offs[i]:offs[i+1]]. Immutable once built.
type seqText struct {
	data []byte
	offs []int32 // seqLen+1 entries, offs[0] = 0
}

func (s *seqText) add(v []byte) {
	s.data = append(s.data, v...)
	s.offs = append(s.offs, int32(len(s.data)))
}

func newSeqText(bytes int) *seqText {
	s := &seqText{data: make([]byte, 0, bytes), offs: make([]int32, 1, seqLen+1)}
	return s
}

// channelSeqs are the bids' channels and their urls: entry i of both is
// the same channel, half of them one of the hot channels and half one of
// the numChannels others, uniformly, as in the reference.
type channelSeqs struct {
	names, urls *seqText
}

func buildChannelSeqs(t *tables) *channelSeqs {
	r := rng{s: 0x6368616E6E656C73} // fixed: the same everywhere
	cs := &channelSeqs{names: newSeqText(seqLen * 12), urls: newSeqText(seqLen * (t.avgURL + 8))}
	for range seqLen {
		if ch := r.below(2 * numChannels); ch < numChannels {
			i := ch % numHotChannels
			cs.names.add(t.hotNames[i])
			cs.urls.add(t.hotURLs[i])
		} else {
			ci := ch - numChannels
			o := t.chanOff[2*ci : 2*ci+3]
			cs.names.add(t.chanData[o[0]:o[1]])
			cs.urls.add(t.chanData[o[1]:o[2]])
		}
	}
	return cs
}

// buildExtraSeq precomputes seqLen paddings of the sizes ex draws (random
// lower-case letters, as in the reference).
func buildExtraSeq(ex extraSize) *seqText {
	r := rng{s: 0x6578747261 ^ ex.lo<<32 ^ ex.span}
	s := newSeqText(seqLen*int(ex.lo+ex.span/2) + 1)
	for range seqLen {
		n := ex.lo
		if ex.span > 0 {
			n += r.below(ex.span)
		}
		for range n {
			s.data = append(s.data, byte('a'+r.below(26)))
		}
		s.offs = append(s.offs, int32(len(s.data)))
	}
	return s
}

// blockStarts returns where block b's bids start in the channel and extra
// sequences: uniform over the starts from which rows more entries fit
// (anywhere when a block is longer than a sequence; its window then wraps,
// and a batch ends at the wrap).
func blockStarts(b int64, rows int64) (ch, ex int64) {
	span := uint64(seqLen)
	if rows < seqLen {
		span = uint64(seqLen - rows + 1)
	}
	r := rng{s: mix(uint64(b) ^ 0x13198A2E03707344)}
	return int64(r.below(span)), int64(r.below(span))
}
