package postgres

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

func TestValidate(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "id", Type: types.TypeBigInt})
	base := map[string]string{"url": "postgres://localhost:5432/db", "table-name": "t"}
	cases := []struct {
		name   string
		set    map[string]string
		drop   string
		option string // the option the error names; "" = valid
		msg    string
	}{
		{name: "minimal"},
		{name: "jdbc url", set: map[string]string{"url": "jdbc:postgresql://db.example:5433/shop?currentSchema=s&ssl=true"}},
		{name: "all options", set: map[string]string{"username": "u", "password": "p", "sink.buffer-flush.max-rows": "500",
			"sink.buffer-flush.interval": "2 s", "sink.max-retries": "5", "sink.delivery-guarantee": "exactly-once",
			"driver": "org.postgresql.Driver", "table-name": `app."Orders"`}},
		{name: "no url", drop: "url", option: "url", msg: "required"},
		{name: "no table", drop: "table-name", option: "table-name", msg: "required"},
		{name: "bad table", set: map[string]string{"table-name": "a.b.c"}, option: "table-name", msg: "schema.table"},
		{name: "bad table quote", set: map[string]string{"table-name": `"abc`}, option: "table-name", msg: "unterminated"},
		{name: "mysql url", set: map[string]string{"url": "jdbc:mysql://h/db"}, option: "url", msg: "jdbc:postgresql"},
		{name: "http url", set: map[string]string{"url": "http://h/db"}, option: "url", msg: "invalid URL"},
		{name: "jdbc param", set: map[string]string{"url": "jdbc:postgresql://h/db?prepareThreshold=3"}, option: "url", msg: "prepareThreshold"},
		{name: "max rows", set: map[string]string{"sink.buffer-flush.max-rows": "-1"}, option: "sink.buffer-flush.max-rows"},
		{name: "max rows text", set: map[string]string{"sink.buffer-flush.max-rows": "many"}, option: "sink.buffer-flush.max-rows"},
		{name: "interval", set: map[string]string{"sink.buffer-flush.interval": "soon"}, option: "sink.buffer-flush.interval"},
		{name: "retries", set: map[string]string{"sink.max-retries": "-2"}, option: "sink.max-retries"},
		{name: "guarantee", set: map[string]string{"sink.delivery-guarantee": "twice"}, option: "sink.delivery-guarantee", msg: "exactly-once"},
		{name: "driver", set: map[string]string{"driver": "com.mysql.Driver"}, option: "driver"},
		{name: "unknown", set: map[string]string{"sink.buffer-flush.max-bytes": "1"}, option: "sink.buffer-flush.max-bytes", msg: "unknown"},
		{name: "scan", set: map[string]string{"scan.fetch-size": "10"}, option: "scan.fetch-size", msg: "sink only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := map[string]string{}
			for k, v := range base {
				o[k] = v
			}
			for k, v := range c.set {
				o[k] = v
			}
			delete(o, c.drop)
			err := New().Validate(connectors.Table{Name: "sink", Schema: schema, Options: o})
			if c.option == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var oe *connectors.OptionError
			if !errors.As(err, &oe) || oe.Option != c.option || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want an OptionError for %q containing %q", err, c.option, c.msg)
			}
		})
	}
}

func TestConnStringJDBC(t *testing.T) {
	conn, display, err := connString("t", "jdbc:postgresql://db:5433/shop?currentSchema=s&ssl=false&user=a", "bob", "secret")
	if err != nil {
		t.Fatal(err)
	}
	want := "postgresql://bob:secret@db:5433/shop?search_path=s&sslmode=disable"
	if conn != want {
		t.Fatalf("got %s, want %s", conn, want)
	}
	if strings.Contains(display, "secret") {
		t.Fatalf("password shown: %s", display)
	}
}

func TestAcceptsUpdates(t *testing.T) {
	if New().AcceptsUpdates(connectors.Table{Name: "t"}) {
		t.Fatal("a table without primary key must not accept updates")
	}
	if !New().AcceptsUpdates(connectors.Table{Name: "t", PrimaryKey: []string{"id"}}) {
		t.Fatal("a table with a primary key accepts updates")
	}
}

func TestAppendDecimal(t *testing.T) {
	for _, c := range []struct {
		v     int64
		scale int
		want  string
	}{{12345, 2, "123.45"}, {-5, 2, "-0.05"}, {7, 0, "7"}, {0, 3, "0.000"}, {-120, 1, "-12.0"}} {
		if got := string(appendDecimal(nil, c.v, c.scale)); got != c.want {
			t.Errorf("appendDecimal(%d, %d) = %s, want %s", c.v, c.scale, got, c.want)
		}
	}
}

// kv is the (id BIGINT, v STRING) schema most tests write.
var kv = types.NewSchema(types.Field{Name: "id", Type: types.TypeBigInt.WithNotNull(true)}, types.Field{Name: "v", Type: types.TypeString})

// kvBatch builds a batch of (id, v) rows with kinds ("+I", "-U", "+U", "-D").
func kvBatch(rows ...any) batch.Batch {
	var ids []int64
	var vs []string
	var kinds []batch.RowKind
	for i := 0; i < len(rows); i += 3 {
		kinds = append(kinds, map[string]batch.RowKind{"+I": batch.Insert, "-U": batch.UpdateBefore, "+U": batch.UpdateAfter, "-D": batch.Delete}[rows[i].(string)])
		ids = append(ids, int64(rows[i+1].(int)))
		vs = append(vs, rows[i+2].(string))
	}
	rec := batch.NewRecord(kv, []arrow.Array{batch.Int64Array(ids, nil), batch.StringArray(vs, nil)}, len(ids))
	return batch.Batch{Rec: rec, Kinds: kinds}
}

// newTestSink creates and opens a sink of the given table.
func newTestSink(t *testing.T, tbl connectors.Table) connectors.Sink {
	t.Helper()
	s, err := New().NewSink(tbl)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background(), 0, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sinkTable(name, target string, schema types.Schema, pk []string, extra ...string) connectors.Table {
	o := map[string]string{"url": testServer.url, "table-name": target}
	for i := 0; i+1 < len(extra); i += 2 {
		o[extra[i]] = extra[i+1]
	}
	return connectors.Table{Name: name, Schema: schema, Options: o, PrimaryKey: pk}
}

func TestInsertOnly(t *testing.T) {
	db := dbConn(t)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"; CREATE TABLE "+tbl+" (id bigint, v text)")
	s := newTestSink(t, sinkTable("out", tbl, kv, nil, "sink.buffer-flush.max-rows", "2"))
	ctx := context.Background()
	if err := s.Write(ctx, kvBatch("+I", 1, "a", "+I", 1, "a", "+I", 2, "tab\there")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, kvBatch("+I", 3, `back\slash`+"\nnew line")); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(dump(t, db, tbl), "\n")
	want := "1|a\n1|a\n2|tab\there\n3|back\\slash\nnew line"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Updates into a table without a key are refused.
	err := s.Write(ctx, kvBatch("-D", 1, "a"))
	if err == nil {
		t.Fatal("a delete into a sink without a key must fail")
	}
}

func TestUpsert(t *testing.T) {
	db := dbConn(t)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"; CREATE TABLE "+tbl+" (id bigint PRIMARY KEY, v text, extra int DEFAULT 7)")
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (100, 'old', 1), (101, 'gone', 1)")
	s := newTestSink(t, sinkTable("out", tbl, kv, []string{"id"}))
	ctx := context.Background()
	// One flush holds several changes of a key: only the last one counts.
	err := s.Write(ctx, kvBatch(
		"+I", 1, "a",
		"-U", 1, "a", "+U", 1, "b",
		"+I", 2, "x", "-D", 2, "x",
		"-D", 3, "never", "+I", 3, "back",
		"-U", 100, "old", "+U", 100, "new",
		"-D", 101, "gone",
	))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(connectors.FlushingSink).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := "1|b|7\n3|back|7\n100|new|1"
	if got := strings.Join(dump(t, db, tbl), "\n"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Across flushes.
	if err := s.Write(ctx, kvBatch("-U", 1, "b", "+U", 1, "c", "-D", 3, "back")); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	want = "1|c|7\n100|new|1"
	if got := strings.Join(dump(t, db, tbl), "\n"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTypes(t *testing.T) {
	db := dbConn(t)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+`; CREATE TABLE `+tbl+` (
  b bigint PRIMARY KEY, i integer, d double precision, dec numeric(10,2), s varchar(20), bo boolean,
  dt date, ts timestamp(3), ltz timestamptz)`)
	schema := types.NewSchema(
		types.Field{Name: "b", Type: types.TypeBigInt.WithNotNull(true)},
		types.Field{Name: "i", Type: types.TypeInt},
		types.Field{Name: "d", Type: types.TypeDouble},
		types.Field{Name: "dec", Type: types.DecimalOf(10, 2)},
		types.Field{Name: "s", Type: types.TypeString},
		types.Field{Name: "bo", Type: types.TypeBoolean},
		types.Field{Name: "dt", Type: types.TypeDate},
		types.Field{Name: "ts", Type: types.TimestampOf(3)},
		types.Field{Name: "ltz", Type: types.TimestampLTZOf(3)},
	)
	ts := time.Date(2024, 2, 29, 13, 45, 6, 789_000_000, time.UTC)
	valid := []bool{true, false, true}
	rec := batch.NewRecord(schema, []arrow.Array{
		batch.Int64Array([]int64{1, 2, -9223372036854775808}, nil),
		batch.Int32Array([]int32{-2147483648, 0, 42}, valid),
		batch.Float64Array([]float64{1.5, 0, -1e300}, valid),
		batch.Int64Array([]int64{-12345, 0, 99999999}, valid),
		batch.StringArray([]string{"héllo\\", "", "ünï"}, valid),
		batch.BooleanArray([]bool{true, false, false}, valid),
		batch.Int32Array([]int32{int32(ts.Unix() / 86400), 0, -1}, valid),
		batch.Int64Array([]int64{ts.UnixMicro(), 0, 0}, valid),
		batch.Int64Array([]int64{ts.UnixMicro(), 0, -1000}, valid),
	}, 3)
	s := newTestSink(t, sinkTable("out", tbl, schema, []string{"b"}))
	ctx := context.Background()
	if err := s.Write(ctx, batch.Batch{Rec: rec}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"-9223372036854775808|42|-1e+300|999999.99|ünï|f|1969-12-31|1970-01-01 00:00:00|1969-12-31 23:59:59.999+00",
		"1|-2147483648|1.5|-123.45|héllo\\|t|2024-02-29|2024-02-29 13:45:06.789|2024-02-29 13:45:06.789+00",
		"2|null|null|null|null|null|null|null|null",
	}, "\n")
	if got := strings.Join(dump(t, db, tbl), "\n"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestOpenChecksTable(t *testing.T) {
	db := dbConn(t)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"; CREATE TABLE "+tbl+" (id bigint, v integer, req text NOT NULL)")
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"_nokey; CREATE TABLE "+tbl+"_nokey (id bigint, v text, UNIQUE (id, v))")
	cases := []struct {
		name   string
		target string
		pk     []string
		want   []string
	}{
		{name: "missing", target: "no_such_table", want: []string{"table 'no_such_table' does not exist"}},
		{name: "columns", target: tbl, want: []string{"column 'v' has type integer, which cannot hold STRING",
			"column 'req' is NOT NULL without a default"}},
		{name: "unique", target: tbl + "_nokey", pk: []string{"id"}, want: []string{"no PRIMARY KEY or UNIQUE constraint on (id)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New().NewSink(sinkTable("out", c.target, kv, c.pk))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Open(context.Background(), 0, 1)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "postgres sink 'out'") {
				t.Errorf("error %q does not name the sink", err)
			}
		})
	}
}

// TestReconnects: the server terminates the sink's session between two
// flushes; the next flush reconnects (a transient failure, retried) and
// writes its rows.
func TestReconnects(t *testing.T) {
	db := dbConn(t)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"; CREATE TABLE "+tbl+" (id bigint PRIMARY KEY, v text)")
	tb := sinkTable("out", tbl, kv, []string{"id"})
	tb.Options["url"] = serverURL(t) + "&application_name=" + tbl
	s := newTestSink(t, tb)
	ctx := context.Background()
	flush := s.(connectors.FlushingSink).Flush
	if err := s.Write(ctx, kvBatch("+I", 1, "a")); err != nil {
		t.Fatal(err)
	}
	if err := flush(ctx); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := db.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", tbl).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d sessions (%v), want the sink's one", killed, err)
	}
	if err := s.Write(ctx, kvBatch("+I", 2, "b", "-U", 1, "a", "+U", 1, "c")); err != nil {
		t.Fatal(err)
	}
	if err := flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dump(t, db, tbl), " "); got != "1|c 2|b" {
		t.Fatalf("got %s", got)
	}
}

// TestIntervalFlush: rows reach the table after the flush interval
// without further writes, barriers or Finish.
func TestIntervalFlush(t *testing.T) {
	db := dbConn(t)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"; CREATE TABLE "+tbl+" (id bigint, v text)")
	s := newTestSink(t, sinkTable("out", tbl, kv, nil, "sink.buffer-flush.interval", "50 ms"))
	if err := s.Write(context.Background(), kvBatch("+I", 1, "a")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if got := dump(t, db, tbl); len(got) == 1 && got[0] == "1|a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the buffered row never reached the table")
		}
	}
}

// TestPendingStateRoundTrip: what PreCommit returns decodes to the same
// chunks, and a state written for another table definition is refused.
func TestPendingStateRoundTrip(t *testing.T) {
	c, err := parse(connectors.Table{Name: "out", Schema: kv, PrimaryKey: []string{"id"},
		Options: map[string]string{"url": "postgres://h/db", "table-name": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &txSink{sink: newSink(c, connectors.Env{})}
	s.pending = []pendingTx{
		{epoch: "e1", checkpoint: 3, ch: chunk{upserts: []byte("1\ta\n"), nUpserts: 1, deletes: []byte("2\n"), nDeletes: 1}},
		{epoch: "e2", checkpoint: 1 << 62, ch: chunk{upserts: []byte("3\tb\n"), nUpserts: 1}},
	}
	got, err := s.decodeState(s.encodeState())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s.pending) {
		t.Fatalf("got %+v, want %+v", got, s.pending)
	}
	state := s.encodeState()
	if _, err := s.decodeState(state[:len(state)-1]); err == nil {
		t.Fatal("a truncated state decoded")
	}
	c2 := *c
	c2.schema = types.NewSchema(kv.Fields[0], types.Field{Name: "w", Type: types.TypeString})
	other := &txSink{sink: newSink(&c2, connectors.Env{})}
	if _, err := other.decodeState(state); err == nil || !strings.Contains(err.Error(), "different table definition") {
		t.Fatalf("got %v, want a refusal of another table's state", err)
	}
}

// TestBufferReduces: changes of one key collapse to the last one, also
// after compaction; -U rows are skipped; deletes keep only the key.
func TestBufferReduces(t *testing.T) {
	b := newBuffer(kv, []int{0})
	add := func(rows ...any) {
		t.Helper()
		if err := b.add(kvBatch(rows...), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	add("+I", 1, "a", "+I", 2, "x\ty", "-U", 1, "a", "+U", 1, "b")
	add("-D", 2, "x\ty", "+I", 3, "c")
	if b.live() != 3 || b.len() != 5 {
		t.Fatalf("live %d of %d rows, want 3 of 5", b.live(), b.len())
	}
	b.compact()
	if b.live() != 3 || b.len() != 3 {
		t.Fatalf("after compact: live %d of %d rows, want 3 of 3", b.live(), b.len())
	}
	add("-U", 3, "c", "+U", 3, "d", "+I", 2, "back")
	c := b.seal()
	if got, want := string(c.upserts), "1\tb\n3\td\n2\tback\n"; got != want || c.nUpserts != 3 {
		t.Fatalf("upserts %q (%d), want %q", got, c.nUpserts, want)
	}
	if c.nDeletes != 0 || b.len() != 0 {
		t.Fatalf("deletes %q, buffer %d rows after seal", c.deletes, b.len())
	}
	add("+I", 5, "e", "-D", 5, "e", "-D", 6, "f")
	c = b.seal()
	if string(c.deletes) != "5\n6\n" || c.nUpserts != 0 {
		t.Fatalf("got %+v", c)
	}
}
