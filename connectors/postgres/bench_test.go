package postgres

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// The upsert benchmark writes rows (id BIGINT key, name STRING, amount
// DECIMAL(12, 2), qty INT, ts TIMESTAMP(3)) over a key space of benchKeys,
// so after the first pass most rows update an existing row. Each strategy
// gets its own table and the same rows; an iteration is benchRows rows.
const (
	benchRows  = 20000
	benchKeys  = 200000
	benchBatch = 1000 // rows per Arrow batch handed to the sink, as the runtime does
)

var benchSchema = types.NewSchema(
	types.Field{Name: "id", Type: types.TypeBigInt.WithNotNull(true)},
	types.Field{Name: "name", Type: types.TypeString},
	types.Field{Name: "amount", Type: types.DecimalOf(12, 2)},
	types.Field{Name: "qty", Type: types.TypeInt},
	types.Field{Name: "ts", Type: types.TimestampOf(3)},
)

// benchRow is row j of iteration i: keys are consecutive within an
// iteration (no key twice in one statement) and wrap around benchKeys.
func benchRow(i, j int) (id int64, name string, amount int64, qty int32, ts int64) {
	id = int64((i*benchRows + j) % benchKeys)
	return id, "customer-" + strconv.FormatInt(id%5000, 10), int64(i*31+j) % 1_000_000, int32(j % 100),
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() + int64(i*benchRows+j)*1000
}

func benchBatches(i int) []batch.Batch {
	var out []batch.Batch
	for start := 0; start < benchRows; start += benchBatch {
		ids, amounts, tss := make([]int64, benchBatch), make([]int64, benchBatch), make([]int64, benchBatch)
		names, qtys := make([]string, benchBatch), make([]int32, benchBatch)
		for j := range benchBatch {
			ids[j], names[j], amounts[j], qtys[j], tss[j] = benchRow(i, start+j)
		}
		rec := batch.NewRecord(benchSchema, []arrow.Array{batch.Int64Array(ids, nil), batch.StringArray(names, nil),
			batch.Int64Array(amounts, nil), batch.Int32Array(qtys, nil), batch.Int64Array(tss, nil)}, benchBatch)
		out = append(out, batch.New(rec))
	}
	return out
}

func benchTable(b *testing.B, db *pgx.Conn, name string) {
	mustExec(b, db, "DROP TABLE IF EXISTS "+name+"; CREATE TABLE "+name+
		" (id bigint PRIMARY KEY, name text, amount numeric(12,2), qty integer, ts timestamp(3))")
}

// BenchmarkUpsert compares upsert strategies on the same rows. Every
// iteration runs each strategy once, in turn, on its own table, so a
// machine shared with other work slows them alike; the figures are
// reported as rows/s per strategy and as ratios to the sink's default
// (COPY into a staging table + INSERT ... SELECT ... ON CONFLICT, flushing
// every 10000 rows):
//
//	go test -run '^$' -bench Upsert -benchtime 20x ./connectors/postgres/
func BenchmarkUpsert(b *testing.B) {
	db := dbConn(b)
	ctx := context.Background()
	type strategy struct {
		name  string
		write func(i int) error
		spent time.Duration
	}
	var all []*strategy
	add := func(name string, write func(i int) error) { all = append(all, &strategy{name: name, write: write}) }
	sinkStrategy := func(maxRows int) func(int) error {
		tbl := fmt.Sprintf("bench_sink_%d", maxRows)
		benchTable(b, db, tbl)
		s, err := New().NewSink(connectors.Table{Name: "bench", Schema: benchSchema, PrimaryKey: []string{"id"},
			Options: map[string]string{"url": serverURL(b), "table-name": tbl,
				"sink.buffer-flush.max-rows": strconv.Itoa(maxRows), "sink.buffer-flush.interval": "0"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Open(ctx, 0, 1); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return func(i int) error {
			for _, bt := range benchBatches(i) {
				if err := s.Write(ctx, bt); err != nil {
					return err
				}
			}
			return s.(connectors.FlushingSink).Flush(ctx)
		}
	}
	// The sink at several flush sizes (100 is Flink's JDBC default).
	for _, n := range []int{10000, 100, 1000, 20000} {
		add(fmt.Sprintf("copy-stage-%d", n), sinkStrategy(n))
	}
	// One INSERT ... SELECT FROM unnest(typed arrays, sent in binary) ...
	// ON CONFLICT per 20000 rows.
	benchTable(b, db, "bench_unnest")
	add("unnest-20000", func(i int) error {
		ids, names, amounts, qtys, tss := make([]int64, benchRows), make([]string, benchRows), make([]string, benchRows), make([]int32, benchRows), make([]time.Time, benchRows)
		for j := range benchRows {
			var a, ts int64
			ids[j], names[j], a, qtys[j], ts = benchRow(i, j)
			amounts[j] = string(appendDecimal(nil, a, 2))
			tss[j] = time.UnixMicro(ts).UTC()
		}
		_, err := db.Exec(ctx, `INSERT INTO bench_unnest AS t (id, name, amount, qty, ts)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::integer[], $5::timestamp[])
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, amount = EXCLUDED.amount, qty = EXCLUDED.qty, ts = EXCLUDED.ts`,
			ids, names, amounts, qtys, tss)
		return err
	})
	// Single-row upserts, pipelined in one pgx.Batch per 1000 rows.
	benchTable(b, db, "bench_pipelined")
	add("pipelined-1000", func(i int) error {
		for start := 0; start < benchRows; start += 1000 {
			var bt pgx.Batch
			for j := start; j < start+1000; j++ {
				id, name, a, qty, ts := benchRow(i, j)
				bt.Queue(`INSERT INTO bench_pipelined AS t (id, name, amount, qty, ts) VALUES ($1, $2, $3::numeric, $4, $5)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, amount = EXCLUDED.amount, qty = EXCLUDED.qty, ts = EXCLUDED.ts`,
					id, name, string(appendDecimal(nil, a, 2)), qty, time.UnixMicro(ts).UTC())
			}
			if err := db.SendBatch(ctx, &bt).Close(); err != nil {
				return err
			}
		}
		return nil
	})
	for _, st := range all { // warm up: the first pass inserts, later ones mostly update
		if err := st.write(0); err != nil {
			b.Fatalf("%s: %v", st.name, err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		for _, st := range all {
			start := time.Now()
			if err := st.write(i + 1); err != nil {
				b.Fatalf("%s: %v", st.name, err)
			}
			st.spent += time.Since(start)
		}
	}
	b.StopTimer()
	base := float64(b.N*benchRows) / all[0].spent.Seconds()
	for _, st := range all {
		rate := float64(b.N*benchRows) / st.spent.Seconds()
		b.ReportMetric(rate, "rows/s-"+st.name)
		if st != all[0] {
			b.ReportMetric(rate/base, "x-"+st.name)
		}
	}
}

// BenchmarkInsert measures the sink without a key (a plain COPY per flush).
func BenchmarkInsert(b *testing.B) {
	db := dbConn(b)
	ctx := context.Background()
	mustExec(b, db, "DROP TABLE IF EXISTS bench_insert; CREATE TABLE bench_insert (id bigint, name text, amount numeric(12,2), qty integer, ts timestamp(3))")
	s, err := New().NewSink(connectors.Table{Name: "bench", Schema: benchSchema,
		Options: map[string]string{"url": serverURL(b), "table-name": "bench_insert", "sink.buffer-flush.interval": "0"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Open(ctx, 0, 1); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bs := benchBatches(0)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, bt := range bs {
			if err := s.Write(ctx, bt); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.(connectors.FlushingSink).Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*benchRows)/time.Since(start).Seconds(), "rows/s")
}
