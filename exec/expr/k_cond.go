package expr

import (
	"fmt"

	"github.com/streamsql/streamsql/sql/types"
)

// branch is one possible source of a conditional's result.
type branch struct {
	k    kernel
	lazy bool // may fail: evaluate only over the rows that take it
}

// pick evaluates b for rows idx of c and returns a vec plus, per idx
// position, the row to read in it.
func (b branch) pick(c *ctx, idx []int32) (*vec, []int32, error) {
	if b.lazy && len(idx) < c.n {
		v, err := b.k.eval(c.subset(idx))
		if err != nil {
			return nil, nil, err
		}
		rows := make([]int32, len(idx))
		for j := range rows {
			rows[j] = int32(j)
		}
		return v, rows, nil
	}
	v, err := b.k.eval(c)
	if err != nil {
		return nil, nil, err
	}
	return v, idx, nil
}

// assembler builds a result from several source vecs: row i comes from
// srcs[which[i]] at row[i], or is NULL when which[i] < 0.
type assembler struct {
	srcs  []*vec
	which []int32
	row   []int32
}

func newAssembler(n int) *assembler {
	a := &assembler{which: make([]int32, n), row: make([]int32, n)}
	for i := range a.which {
		a.which[i] = -1
	}
	return a
}

func (a *assembler) add(v *vec, dst, rows []int32) {
	id := int32(len(a.srcs))
	a.srcs = append(a.srcs, v)
	for j, i := range dst {
		a.which[i] = id
		a.row[i] = rows[j]
	}
}

func (a *assembler) build(t types.Type) *vec {
	n := len(a.which)
	out := &vec{n: n}
	valid := make([]bool, n)
	nulls := 0
	for i, w := range a.which {
		if w >= 0 && !a.srcs[w].null(int(a.row[i])) {
			valid[i] = true
		} else {
			nulls++
		}
	}
	if nulls > 0 {
		out.valid = valid
	}
	src := func(i int) (*vec, int) {
		w := a.which[i]
		if w < 0 {
			return nil, 0
		}
		v := a.srcs[w]
		return v, v.idx(int(a.row[i]))
	}
	switch physOf(t) {
	case physI32:
		out.i32 = make([]int32, n)
		for i := range out.i32 {
			if valid[i] {
				v, r := src(i)
				out.i32[i] = v.i32[r]
			}
		}
	case physI64:
		out.i64 = make([]int64, n)
		for i := range out.i64 {
			if valid[i] {
				v, r := src(i)
				out.i64[i] = v.i64[r]
			}
		}
	case physF64:
		out.f64 = make([]float64, n)
		for i := range out.f64 {
			if valid[i] {
				v, r := src(i)
				out.f64[i] = v.f64[r]
			}
		}
	case physBool:
		out.b = make([]bool, n)
		for i := range out.b {
			if valid[i] {
				v, r := src(i)
				out.b[i] = v.b[r]
			}
		}
	case physStr:
		sb := newStringBuilder(n, 0)
		for i := 0; i < n; i++ {
			if valid[i] {
				v, r := src(i)
				sb.data = append(sb.data, v.data[v.offs[r]:v.offs[r+1]]...)
			}
			sb.finish()
		}
		out.offs, out.data = sb.offs, sb.data
	default:
		return nullScalar(n)
	}
	return out
}

// caseKernel is a searched CASE; the simple form was rewritten by Bind.
// Each WHEN sees only the rows no earlier WHEN took, and each THEN is
// computed only for its own rows when it may fail.
type caseKernel struct {
	conds   []branch
	results []branch
	els     branch
	t       types.Type
}

func (cp *compiler) buildCase(x *Call) (kernel, error) {
	k := &caseKernel{t: x.T}
	n := len(x.Args) - 1
	for i := 0; i < n; i += 2 {
		c, err := cp.build(x.Args[i])
		if err != nil {
			return nil, err
		}
		r, err := cp.build(x.Args[i+1])
		if err != nil {
			return nil, err
		}
		k.conds = append(k.conds, branch{k: c, lazy: mayFail(x.Args[i])})
		k.results = append(k.results, branch{k: r, lazy: mayFail(x.Args[i+1])})
	}
	e, err := cp.build(x.Args[n])
	if err != nil {
		return nil, err
	}
	k.els = branch{k: e, lazy: mayFail(x.Args[n])}
	return k, nil
}

func (k *caseKernel) eval(c *ctx) (*vec, error) {
	n := c.n
	rest := make([]int32, n)
	for i := range rest {
		rest[i] = int32(i)
	}
	asm := newAssembler(n)
	for bi, cond := range k.conds {
		if len(rest) == 0 {
			break
		}
		cv, rows, err := cond.pick(c, rest)
		if err != nil {
			return nil, err
		}
		var taken, left []int32
		for j, i := range rest {
			r := int(rows[j])
			if !cv.null(r) && cv.b[cv.idx(r)] {
				taken = append(taken, i)
			} else {
				left = append(left, i)
			}
		}
		rest = left
		if len(taken) == 0 {
			continue
		}
		rv, rrows, err := k.results[bi].pick(c, taken)
		if err != nil {
			return nil, err
		}
		asm.add(rv, taken, rrows)
	}
	if len(rest) > 0 {
		ev, rows, err := k.els.pick(c, rest)
		if err != nil {
			return nil, err
		}
		asm.add(ev, rest, rows)
	}
	return asm.build(k.t), nil
}

// coalesceKernel returns the first non-NULL argument; later arguments are
// evaluated only for rows still NULL when they may fail.
type coalesceKernel struct {
	args []branch
	t    types.Type
}

func (k *coalesceKernel) eval(c *ctx) (*vec, error) {
	rest := make([]int32, c.n)
	for i := range rest {
		rest[i] = int32(i)
	}
	asm := newAssembler(c.n)
	for _, a := range k.args {
		if len(rest) == 0 {
			break
		}
		v, rows, err := a.pick(c, rest)
		if err != nil {
			return nil, err
		}
		var got, left []int32
		var gotRows []int32
		for j, i := range rest {
			if v.null(int(rows[j])) {
				left = append(left, i)
			} else {
				got = append(got, i)
				gotRows = append(gotRows, rows[j])
			}
		}
		if len(got) > 0 {
			asm.add(v, got, gotRows)
		}
		rest = left
	}
	return asm.build(k.t), nil
}

// inKernel is x [NOT] IN (list). A constant list becomes a hash set.
type inKernel struct {
	not  bool
	x    kernel
	list []kernel
	t    types.Type
	set  *valueSet
	text string
}

// valueSet holds constant IN-list values by physical type.
type valueSet struct {
	i32     map[int32]struct{}
	i64     map[int64]struct{}
	f64     map[float64]struct{}
	str     map[string]struct{}
	b       [2]bool
	hasNull bool
}

func (s *valueSet) has(v *vec, p phys, i int) bool {
	j := v.idx(i)
	switch p {
	case physI32:
		_, ok := s.i32[v.i32[j]]
		return ok
	case physI64:
		_, ok := s.i64[v.i64[j]]
		return ok
	case physF64:
		_, ok := s.f64[v.f64[j]]
		return ok
	case physStr:
		_, ok := s.str[v.str(i)]
		return ok
	case physBool:
		return s.b[b2i(v.b[j])]
	}
	return false
}

func (cp *compiler) buildIn(x *Call) (kernel, error) {
	xk, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	k := &inKernel{not: x.Fn == "NOT IN", x: xk, t: x.Args[0].Type(), text: x.String()}
	allConst := true
	for _, a := range x.Args[1:] {
		if !isConstant(a) {
			allConst = false
		}
	}
	if allConst {
		s := &valueSet{i32: map[int32]struct{}{}, i64: map[int64]struct{}{}, f64: map[float64]struct{}{}, str: map[string]struct{}{}}
		for _, a := range x.Args[1:] {
			v, err := Const(a, cp.env)
			if err != nil {
				return nil, err
			}
			switch y := v.(type) {
			case nil:
				s.hasNull = true
			case int32:
				s.i32[y] = struct{}{}
			case int64:
				s.i64[y] = struct{}{}
			case float64:
				s.f64[y] = struct{}{}
			case string:
				s.str[y] = struct{}{}
			case bool:
				s.b[b2i(y)] = true
			default:
				return nil, fmt.Errorf("%s: unexpected constant %T", x, v)
			}
		}
		k.set = s
		return k, nil
	}
	if k.list, err = cp.buildAll(x.Args[1:]); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *inKernel) eval(c *ctx) (*vec, error) {
	xv, err := k.x.eval(c)
	if err != nil {
		return nil, err
	}
	n := c.n
	if xv.allNull() {
		return nullScalar(n), nil
	}
	p := physOf(k.t)
	out := &vec{n: n, b: make([]bool, n)}
	var valid []bool
	setNull := func(i int) {
		if valid == nil {
			valid = make([]bool, n)
			for j := range valid {
				valid[j] = true
			}
		}
		valid[i] = false
	}
	if k.set != nil {
		for i := 0; i < n; i++ {
			switch {
			case xv.null(i):
				setNull(i)
			case k.set.has(xv, p, i):
				out.b[i] = true
			case k.set.hasNull:
				setNull(i)
			}
		}
	} else {
		items := make([]*vec, len(k.list))
		for j, lk := range k.list {
			if items[j], err = lk.eval(c); err != nil {
				return nil, err
			}
		}
		for i := 0; i < n; i++ {
			if xv.null(i) {
				setNull(i)
				continue
			}
			sawNull := false
			for _, it := range items {
				if it.null(i) {
					sawNull = true
					continue
				}
				if compareAt(opEQ, p, xv, it, i) {
					out.b[i] = true
					break
				}
			}
			if !out.b[i] && sawNull {
				setNull(i)
			}
		}
	}
	if k.not {
		for i := range out.b {
			out.b[i] = !out.b[i]
		}
	}
	out.valid = valid
	return out, nil
}
