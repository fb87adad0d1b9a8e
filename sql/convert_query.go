package sql

import (
	"sort"
	"strconv"
	"strings"

	tast "github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/streamsql/streamsql/sql/ast"
)

// converter turns TiDB's tree into ours, restoring what the front pass put
// aside and mapping positions back to the user's text.
type converter struct {
	fp *frontPass
	s  *script
	// next is the index in fp.toks from which position searches (SELECT
	// keywords, table names) continue. Conversion visits the tree in source
	// order, so the searches move forward with it.
	next int
	// asOf counts the FOR SYSTEM_TIME AS OF clauses converted so far.
	asOf int
}

func newConverter(fp *frontPass) *converter { return &converter{fp: fp, s: fp.s} }

// posAt maps an offset of the rewritten text to a position in the script.
func (cv *converter) posAt(off int) ast.Pos { return cv.s.pos(cv.fp.r.origStart(off)) }

// pos is where a TiDB expression starts in the user's text.
func (cv *converter) pos(n tast.Node) ast.Pos { return cv.posAt(n.OriginTextPosition()) }

// stmtStart is the fallback position.
func (cv *converter) stmtStart() ast.Pos { return cv.fp.toks[0].Pos }

// tokenIndexAt returns the index of the token starting at script offset off.
func (cv *converter) tokenIndexAt(off int) (int, bool) {
	ts := cv.fp.toks
	i := sort.Search(len(ts), func(i int) bool { return ts[i].Off >= off })
	return i, i < len(ts) && ts[i].Off == off
}

// search finds the next token (from cv.next) that match accepts, and moves
// past it.
func (cv *converter) search(match func(token) bool) (token, bool) {
	for i := cv.next; i < len(cv.fp.toks); i++ {
		if match(cv.fp.toks[i]) {
			cv.next = i + 1
			return cv.fp.toks[i], true
		}
	}
	return token{}, false
}

// skipTo moves the search point past script offset off.
func (cv *converter) skipTo(off int) {
	for cv.next < len(cv.fp.toks) && cv.fp.toks[cv.next].Off < off {
		cv.next++
	}
}

func (cv *converter) query(rs tast.ResultSetNode) (*ast.Select, error) {
	switch n := rs.(type) {
	case *tast.SelectStmt:
		return cv.selectStmt(n)
	case *tast.SetOprStmt:
		return cv.setOpr(n)
	}
	return nil, notSupported(cv.stmtStart(), "query form %T", rs)
}

func (cv *converter) with(w *tast.WithClause) ([]ast.CTE, error) {
	if w == nil {
		return nil, nil
	}
	if w.IsRecursive {
		return nil, notSupported(cv.stmtStart(), "WITH RECURSIVE")
	}
	var out []ast.CTE
	for _, cte := range w.CTEs {
		if len(cte.ColNameList) > 0 {
			return nil, notSupported(cv.stmtStart(), "column lists in WITH %s(...)", cte.Name.O)
		}
		q, err := cv.query(cte.Query.Query)
		if err != nil {
			return nil, err
		}
		out = append(out, ast.CTE{Name: cte.Name.O, Query: q})
	}
	return out, nil
}

func (cv *converter) selectStmt(n *tast.SelectStmt) (*ast.Select, error) {
	if n.Kind != tast.SelectStmtKindSelect {
		return nil, notSupported(cv.stmtStart(), "this query form (use SELECT)")
	}
	sel := &ast.Select{Distinct: n.Distinct, Pos: cv.stmtStart()}
	var err error
	if sel.With, err = cv.with(n.With); err != nil {
		return nil, err
	}
	if t, ok := cv.search(func(t token) bool { return t.is("SELECT") }); ok {
		sel.Pos = t.Pos
	}
	if len(n.WindowSpecs) > 0 {
		return nil, notSupported(sel.Pos, "named WINDOW clauses")
	}
	if n.Fields != nil {
		for _, f := range n.Fields.Fields {
			item, err := cv.selectItem(f)
			if err != nil {
				return nil, err
			}
			sel.Items = append(sel.Items, item)
		}
	}
	if n.From != nil {
		if sel.From, err = cv.tableRefs(n.From.TableRefs); err != nil {
			return nil, err
		}
	}
	if n.Where != nil {
		if sel.Where, err = cv.expr(n.Where); err != nil {
			return nil, err
		}
	}
	if n.GroupBy != nil {
		if n.GroupBy.Rollup {
			return nil, notSupported(sel.Pos, "WITH ROLLUP")
		}
		for _, it := range n.GroupBy.Items {
			e, err := cv.expr(it.Expr)
			if err != nil {
				return nil, err
			}
			sel.GroupBy = append(sel.GroupBy, e)
		}
	}
	if n.Having != nil {
		if sel.Having, err = cv.expr(n.Having.Expr); err != nil {
			return nil, err
		}
	}
	if err := cv.orderLimit(sel, n.OrderBy, n.Limit); err != nil {
		return nil, err
	}
	return sel, nil
}

func (cv *converter) orderLimit(sel *ast.Select, ob *tast.OrderByClause, lim *tast.Limit) error {
	if ob != nil {
		items, err := cv.orderItems(ob)
		if err != nil {
			return err
		}
		sel.OrderBy = append(sel.OrderBy, items...)
	}
	if lim != nil {
		var err error
		if lim.Count != nil {
			if sel.Limit, err = cv.expr(lim.Count); err != nil {
				return err
			}
		}
		if lim.Offset != nil {
			if sel.Offset, err = cv.expr(lim.Offset); err != nil {
				return err
			}
		}
	}
	return nil
}

func (cv *converter) orderItems(ob *tast.OrderByClause) ([]ast.OrderItem, error) {
	var out []ast.OrderItem
	for _, it := range ob.Items {
		e, err := cv.expr(it.Expr)
		if err != nil {
			return nil, err
		}
		out = append(out, ast.OrderItem{Expr: e, Desc: it.Desc})
	}
	return out, nil
}

func (cv *converter) selectItem(f *tast.SelectField) (ast.SelectItem, error) {
	item := ast.SelectItem{Pos: cv.posAt(f.Offset)}
	if f.WildCard != nil {
		item.Star = true
		item.StarTable = f.WildCard.Table.O
		if f.WildCard.Schema.O != "" {
			item.StarTable = f.WildCard.Schema.O + "." + item.StarTable
		}
		item.Text = "*"
		if item.StarTable != "" {
			item.Text = item.StarTable + ".*"
		}
		cv.skipTo(item.Pos.Offset + 1)
		return item, nil
	}
	e, err := cv.expr(f.Expr)
	if err != nil {
		return item, err
	}
	item.Expr = e
	item.Alias = f.AsName.O
	text := f.OriginalText()
	start := cv.fp.r.origStart(f.Offset)
	end := cv.fp.r.origEnd(f.Offset + len(text))
	if end > start {
		item.Text = strings.TrimSpace(cv.s.src[start:end])
	}
	cv.skipTo(end)
	return item, nil
}

func (cv *converter) setOpr(n *tast.SetOprStmt) (*ast.Select, error) {
	with, err := cv.with(n.With)
	if err != nil {
		return nil, err
	}
	head, err := cv.setOprList(n.SelectList)
	if err != nil {
		return nil, err
	}
	head.With = append(with, head.With...)
	if err := cv.orderLimit(head, n.OrderBy, n.Limit); err != nil {
		return nil, err
	}
	return head, nil
}

// setOprList converts a UNION chain: the first block becomes the head and
// the others hang off its SetOps.
func (cv *converter) setOprList(l *tast.SetOprSelectList) (*ast.Select, error) {
	with, err := cv.with(l.With)
	if err != nil {
		return nil, err
	}
	var head *ast.Select
	for _, node := range l.Selects {
		var sel *ast.Select
		var op *tast.SetOprType
		switch x := node.(type) {
		case *tast.SelectStmt:
			sel, err = cv.selectStmt(x)
			op = x.AfterSetOperator
		case *tast.SetOprSelectList:
			sel, err = cv.setOprList(x)
			op = x.AfterSetOperator
		default:
			return nil, notSupported(cv.stmtStart(), "query form %T", node)
		}
		if err != nil {
			return nil, err
		}
		if head == nil {
			head = sel
			continue
		}
		so := ast.SetOp{Query: sel}
		if op != nil {
			switch *op {
			case tast.Union, tast.UnionAll:
				so.Op = "UNION"
			case tast.Except, tast.ExceptAll:
				so.Op = "EXCEPT"
			case tast.Intersect, tast.IntersectAll:
				so.Op = "INTERSECT"
			}
			so.All = *op == tast.UnionAll || *op == tast.ExceptAll || *op == tast.IntersectAll
		}
		head.SetOps = append(head.SetOps, so)
	}
	if head == nil {
		return nil, ast.Errorf(cv.stmtStart(), "empty query")
	}
	head.With = append(with, head.With...)
	if err := cv.orderLimit(head, l.OrderBy, l.Limit); err != nil {
		return nil, err
	}
	return head, nil
}

func (cv *converter) tableRefs(j *tast.Join) (ast.TableRef, error) {
	if j.Right == nil {
		ref, err := cv.tableRef(j.Left)
		if err != nil {
			return nil, err
		}
		if err := notTemporal(ref); err != nil {
			return nil, err
		}
		return ref, nil
	}
	left, err := cv.tableRef(j.Left)
	if err != nil {
		return nil, err
	}
	right, err := cv.tableRef(j.Right)
	if err != nil {
		return nil, err
	}
	if j.NaturalJoin {
		return nil, notSupported(left.Position(), "NATURAL JOIN")
	}
	out := &ast.Join{Left: left, Right: right, Pos: left.Position()}
	switch {
	case j.StraightJoin: // the front pass's stand-in for FULL JOIN
		out.Kind = ast.JoinFull
	case j.Tp == tast.LeftJoin:
		out.Kind = ast.JoinLeft
	case j.Tp == tast.RightJoin:
		out.Kind = ast.JoinRight
	case j.On != nil || len(j.Using) > 0:
		out.Kind = ast.JoinInner
	default:
		out.Kind = ast.JoinCross
	}
	if j.On != nil {
		if out.On, err = cv.expr(j.On.Expr); err != nil {
			return nil, err
		}
	}
	for _, u := range j.Using {
		out.Using = append(out.Using, u.Name.O)
	}
	if err := notTemporal(left); err != nil {
		return nil, err
	}
	if tn, ok := right.(*ast.TableName); ok && tn.SystemTime != nil {
		switch {
		case out.Kind == ast.JoinCross:
			return nil, ast.Errorf(tn.SystemTimePos, "FOR SYSTEM_TIME AS OF needs JOIN ... ON (a lookup join on equal keys)")
		case out.Kind != ast.JoinInner && out.Kind != ast.JoinLeft:
			return nil, notSupported(tn.SystemTimePos, "FOR SYSTEM_TIME AS OF in a %s JOIN (lookup joins are INNER or LEFT)", out.Kind)
		case len(out.Using) > 0:
			return nil, notSupported(tn.SystemTimePos, "FOR SYSTEM_TIME AS OF with USING (write ON)")
		}
	}
	return out, nil
}

// notTemporal refuses FOR SYSTEM_TIME AS OF anywhere but on the right side
// of a JOIN, the only place Flink gives it a meaning.
func notTemporal(ref ast.TableRef) error {
	if tn, ok := ref.(*ast.TableName); ok && tn.SystemTime != nil {
		return ast.Errorf(tn.SystemTimePos, "FOR SYSTEM_TIME AS OF applies to the right side of a JOIN (a temporal or lookup join)")
	}
	return nil
}

func (cv *converter) tableRef(rs tast.ResultSetNode) (ast.TableRef, error) {
	switch n := rs.(type) {
	case *tast.Join:
		return cv.tableRefs(n)
	case *tast.TableSource:
		return cv.tableSource(n)
	case *tast.TableName:
		return cv.tableSource(&tast.TableSource{Source: n})
	}
	return nil, notSupported(cv.stmtStart(), "FROM item %T", rs)
}

func (cv *converter) tableSource(ts *tast.TableSource) (ast.TableRef, error) {
	alias := ts.AsName.O
	if len(ts.ColumnNames) > 0 {
		return nil, notSupported(cv.stmtStart(), "column aliases in AS %s(...)", alias)
	}
	switch src := ts.Source.(type) {
	case *tast.TableName:
		name := src.Name.O
		if src.Schema.O != "" {
			name = src.Schema.O + "." + name
		}
		if idx, ok := strings.CutPrefix(name, phTVF); ok {
			return cv.tvf(idx, alias)
		}
		pos := cv.stmtStart()
		first := strings.SplitN(name, ".", 2)[0]
		if t, ok := cv.search(func(t token) bool {
			return (t.Kind == tkWord && strings.EqualFold(t.Raw, first)) || (t.Kind == tkQuoted && t.Val == first)
		}); ok {
			pos = t.Pos
		}
		if len(src.IndexHints) > 0 || len(src.PartitionNames) > 0 || src.TableSample != nil {
			return nil, notSupported(pos, "index hints, partitions and TABLESAMPLE")
		}
		tn := &ast.TableName{Name: name, Alias: alias, Pos: pos}
		if src.AsOf != nil {
			// Only the front pass writes AS OF: a FOR SYSTEM_TIME AS OF.
			if cv.asOf >= len(cv.fp.asOfs) {
				return nil, ast.Errorf(pos, "not supported yet: AS OF TIMESTAMP (write FOR SYSTEM_TIME AS OF)")
			}
			clause := cv.fp.asOfs[cv.asOf]
			cv.asOf++
			e, err := cv.expr(src.AsOf.TsExpr)
			if err != nil {
				return nil, err
			}
			tn.SystemTime, tn.SystemTimePos = e, clause.pos
			cv.skipTo(clause.end)
		}
		return tn, nil
	case *tast.SelectStmt, *tast.SetOprStmt:
		q, err := cv.query(src.(tast.ResultSetNode))
		if err != nil {
			return nil, err
		}
		return &ast.DerivedTable{Query: q, Alias: alias, Pos: q.Pos}, nil
	case *tast.Join:
		return cv.tableRefs(src)
	}
	return nil, notSupported(cv.stmtStart(), "FROM item %T", ts.Source)
}

// tvf restores window TVF number idx.
func (cv *converter) tvf(idx, alias string) (ast.TableRef, error) {
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 || n >= len(cv.fp.tvfs) {
		return nil, ast.Errorf(cv.stmtStart(), "unknown table %s%s", phTVF, idx)
	}
	w := *cv.fp.tvfs[n]
	w.Alias = alias
	cv.skipTo(cv.fp.tvfEnd[n])
	return &w, nil
}
