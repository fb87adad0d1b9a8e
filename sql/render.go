package sql

import (
	"sort"
	"strings"
)

// piece is one run of the rewritten text handed to TiDB, with the range of
// the user's text it stands for. Exact pieces are copied verbatim, so any
// byte inside maps back one to one; synthetic ones map to their range start.
type piece struct {
	rStart, rEnd int // in the rewritten text
	oStart, oEnd int // in the user's script
	exact        bool
}

// renderer builds rewritten text while recording where each piece came from.
type renderer struct {
	b      strings.Builder
	pieces []piece
}

// emit appends text standing for src[oStart:oEnd]. glue suppresses the
// separating space (e.g. between a placeholder name and its '(').
func (r *renderer) emit(text string, oStart, oEnd int, exact, glue bool) {
	if len(r.pieces) > 0 && !glue {
		r.b.WriteByte(' ')
	}
	start := r.b.Len()
	r.b.WriteString(text)
	r.pieces = append(r.pieces, piece{rStart: start, rEnd: r.b.Len(), oStart: oStart, oEnd: oEnd, exact: exact})
}

// emitTok copies a token verbatim, glued to the previous exact piece when
// the user wrote them adjacent (so `t.a` stays `t.a`).
func (r *renderer) emitTok(t token) {
	glue := false
	if n := len(r.pieces); n > 0 {
		p := r.pieces[n-1]
		glue = p.exact && p.oEnd == t.Off
	}
	r.emit(t.Raw, t.Off, t.End, true, glue)
}

func (r *renderer) text() string { return r.b.String() }

// find returns the index of the piece holding rewritten offset off, or of
// the next piece when off falls on a separating space.
func (r *renderer) find(off int) int {
	return sort.Search(len(r.pieces), func(i int) bool { return r.pieces[i].rEnd > off })
}

// origStart maps a rewritten offset to the user's offset where the construct
// at that place begins.
func (r *renderer) origStart(off int) int {
	if len(r.pieces) == 0 {
		return 0
	}
	i := r.find(off)
	if i >= len(r.pieces) {
		return r.pieces[len(r.pieces)-1].oEnd
	}
	p := r.pieces[i]
	if p.exact && off >= p.rStart {
		return p.oStart + off - p.rStart
	}
	return p.oStart
}

// origEnd maps an exclusive rewritten end offset to the user's text.
func (r *renderer) origEnd(end int) int {
	if len(r.pieces) == 0 {
		return 0
	}
	if end <= 0 {
		return r.pieces[0].oStart
	}
	p := r.pieces[min(r.find(end-1), len(r.pieces)-1)]
	if p.exact && end <= p.rEnd {
		return p.oStart + end - p.rStart
	}
	return p.oEnd
}
