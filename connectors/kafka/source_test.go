package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kafka"
	"github.com/streamsql/streamsql/sql/types"
)

func jsonTable(b *broker, name, topic string, extra ...string) string {
	opts := append([]string{"connector", "kafka", "topic", topic, "properties.bootstrap.servers", b.addr,
		"format", "json", "scan.bounded.mode", "latest-offset", "scan.startup.mode", "earliest-offset"}, extra...)
	return "CREATE TABLE " + name + " (id INT, name STRING) " + with(dedup(opts)...) + ";\n"
}

// dedup keeps the last value of each option key.
func dedup(kv []string) []string {
	idx := map[string]int{}
	var out []string
	for i := 0; i+1 < len(kv); i += 2 {
		if j, ok := idx[kv[i]]; ok {
			out[j+1] = kv[i+1]
			continue
		}
		idx[kv[i]] = len(out)
		out = append(out, kv[i], kv[i+1])
	}
	return out
}

func jsonRow(id int, name string) string { return fmt.Sprintf(`{"id":%d,"name":"%s"}`, id, name) }

func TestSourceStartupModes(t *testing.T) {
	b := newBroker(t)
	b.topic("t", 2)
	base := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for i := 0; i < 6; i++ {
		r := rec("t", int32(i%2), "", jsonRow(i, fmt.Sprint("n", i)))
		r.Timestamp = base.Add(time.Duration(i) * time.Second)
		recs = append(recs, r)
	}
	b.produceTo(recs...) // partition 0: ids 0, 2, 4 (offsets 0..2); partition 1: ids 1, 3, 5
	if _, err := b.adm.CommitOffsets(context.Background(), "g1", kadm.OffsetsFromRecords(kgo.Record{Topic: "t", Partition: 0, Offset: 1}, kgo.Record{Topic: "t", Partition: 1, Offset: 0})); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts []string
		want []int
	}{
		{"earliest", nil, []int{0, 1, 2, 3, 4, 5}},
		{"latest", []string{"scan.startup.mode", "latest-offset"}, nil},
		{"timestamp", []string{"scan.startup.mode", "timestamp", "scan.startup.timestamp-millis", fmt.Sprint(base.Add(3 * time.Second).UnixMilli())}, []int{3, 4, 5}},
		{"specific", []string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0,offset:2;partition:1,offset:1"}, []int{3, 4, 5}},
		// Committed offsets are the next record to read: p0 from 2 (id 4), p1 from 1 (ids 3, 5).
		{"group", []string{"scan.startup.mode", "group-offsets", "properties.group.id", "g1"}, []int{3, 4, 5}},
		{"group-reset", []string{"scan.startup.mode", "group-offsets", "properties.group.id", "nobody", "properties.auto.offset.reset", "earliest"}, []int{0, 1, 2, 3, 4, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t, nil)
			out := mustRun(t, s, jsonTable(b, "src", "t", c.opts...)+"SELECT id FROM src;")
			var got []int
			for _, r := range out.rows {
				var id int
				fmt.Sscanf(r, "+I[%d]", &id)
				got = append(got, id)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("got ids %v, want %v (rows %q)", got, c.want, out.rows)
			}
		})
	}
	t.Run("group-without-offsets", func(t *testing.T) {
		s := newSession(t, nil)
		_, err := run(t, s, jsonTable(b, "src", "t", "scan.startup.mode", "group-offsets", "properties.group.id", "nobody")+"SELECT id FROM src;")
		if err == nil || !strings.Contains(err.Error(), "no committed offset for topic 't' partition 0") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSourceParallelPartitionsAndMetadata(t *testing.T) {
	b := newBroker(t)
	b.topic("t", 4)
	var recs []*kgo.Record
	for i := 0; i < 40; i++ {
		r := rec("t", int32(i%4), "", jsonRow(i, "x"))
		r.Timestamp = time.UnixMilli(1_700_000_000_000 + int64(i))
		recs = append(recs, r)
	}
	b.produceTo(recs...)
	s := newSession(t, nil)
	out := mustRun(t, s, `SET 'parallelism.default' = '2';
CREATE TABLE src (
  id INT, name STRING,
  part INT METADATA FROM 'partition' VIRTUAL,
  off BIGINT METADATA FROM 'offset' VIRTUAL,
  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  topic STRING METADATA VIRTUAL,
  tt STRING METADATA FROM 'timestamp-type' VIRTUAL
) `+with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json",
		"scan.bounded.mode", "latest-offset", "scan.startup.mode", "earliest-offset")+`;
SELECT id, part, off, ts, topic, tt FROM src;`)
	if len(out.rows) != 40 {
		t.Fatalf("got %d rows, want 40: %q", len(out.rows), out.rows)
	}
	for _, r := range out.rows {
		var id, part, off int
		var rest string
		if _, err := fmt.Sscanf(r, "+I[%d, %d, %d, %s", &id, &part, &off, &rest); err != nil {
			t.Fatalf("row %q: %v", r, err)
		}
		wantTS := time.UnixMilli(1_700_000_000_000 + int64(id)).UTC().Format("2006-01-02 15:04:05.000")
		if part != id%4 || off != id/4 || !strings.Contains(r, wantTS) || !strings.HasSuffix(r, ", t, CreateTime]") {
			t.Errorf("row %q: want partition %d, offset %d, timestamp %s, topic t", r, id%4, id/4, wantTS)
		}
	}
}

// table is a connectors.Table over the kafka options given.
func table(schema types.Schema, opts ...string) connectors.Table {
	m := map[string]string{}
	for i := 0; i+1 < len(opts); i += 2 {
		m[opts[i]] = opts[i+1]
	}
	return connectors.Table{Name: "src", Schema: schema, Options: m}
}

var idName = types.NewSchema(types.Field{Name: "id", Type: types.TypeInt}, types.Field{Name: "name", Type: types.TypeString})

// readIDs reads a source until it has want rows or ends, returning the ids.
func readIDs(t *testing.T, src connectors.Source, want int) []int {
	t.Helper()
	var ids []int
	deadline := time.Now().Add(20 * time.Second)
	for len(ids) < want && time.Now().Before(deadline) {
		bt, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < bt.Len(); i++ {
			var id int
			fmt.Sscan(format.Display(bt.Column(0), i, types.TypeInt, time.UTC), &id)
			ids = append(ids, id)
		}
		bt.Release()
	}
	return ids
}

func TestSourcePositionSeek(t *testing.T) {
	b := newBroker(t)
	b.topic("t", 3)
	var recs []*kgo.Record
	for i := 0; i < 300; i++ {
		recs = append(recs, rec("t", int32(i%3), "", jsonRow(i, "x")))
	}
	b.produceTo(recs...)
	// A committed transaction and an aborted one: control records and
	// aborted data take offsets the position must step over.
	tx, err := kgo.NewClient(kgo.SeedBrokers(b.c.ListenAddrs()...), kgo.TransactionalID("tx"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for i, commit := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for p := int32(0); p < 3; p++ {
			if err := tx.ProduceSync(context.Background(), rec("t", p, "", jsonRow(1000+i*10+int(p), "tx"))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.EndTransaction(context.Background(), commit); err != nil {
			t.Fatal(err)
		}
	}
	f := kafka.New()
	tab := table(idName, "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "scan.bounded.mode", "latest-offset",
		"scan.startup.mode", "earliest-offset")
	var all []int
	for sub := 0; sub < 2; sub++ {
		src, err := f.NewSource(tab)
		if err != nil {
			t.Fatal(err)
		}
		cs := src.(connectors.CheckpointedSource)
		if err := cs.Open(context.Background(), sub, 2); err != nil {
			t.Fatal(err)
		}
		first := readIDs(t, cs, 50)
		pos, err := cs.Position()
		if err != nil {
			t.Fatal(err)
		}
		cs.Close()
		src2, _ := f.NewSource(tab)
		cs2 := src2.(connectors.CheckpointedSource)
		if err := cs2.Open(context.Background(), sub, 2); err != nil {
			t.Fatal(err)
		}
		if err := cs2.Seek(pos); err != nil {
			t.Fatal(err)
		}
		rest := readIDs(t, cs2, 1<<30)
		cs2.Close()
		all = append(all, first...)
		all = append(all, rest...)
		if sub == 0 {
			// Restoring at another parallelism is refused.
			src3, _ := f.NewSource(tab)
			cs3 := src3.(connectors.CheckpointedSource)
			if err := cs3.Open(context.Background(), 0, 3); err != nil {
				t.Fatal(err)
			}
			if err := cs3.Seek(pos); err == nil || !strings.Contains(err.Error(), "different parallelism") {
				t.Errorf("seek at another parallelism: %v", err)
			}
			cs3.Close()
		}
	}
	slices.Sort(all)
	var want []int
	for i := 0; i < 300; i++ {
		want = append(want, i)
	}
	want = append(want, 1010, 1011, 1012)
	if !slices.Equal(all, want) {
		t.Fatalf("read %d ids, want %d (each once, aborted ones never): %v", len(all), len(want), all)
	}
}

func TestSourceFormatsAndKeys(t *testing.T) {
	b := newBroker(t)
	b.topic("c", 1)
	b.produce(rec("c", 0, `{"id":1}`, "Alice,12.50"), rec("c", 0, `{"id":2}`, "Bob,"))
	s := newSession(t, nil)
	out := mustRun(t, s, `CREATE TABLE src (id INT, name STRING, amount DECIMAL(10, 2)) `+with("connector", "kafka", "topic", "c",
		"properties.bootstrap.servers", b.addr, "key.format", "json", "key.fields", "id", "value.format", "csv",
		"value.fields-include", "EXCEPT_KEY", "scan.bounded.mode", "latest-offset", "scan.startup.mode", "earliest-offset")+`;
SELECT * FROM src;`)
	want := []string{"+I[1, Alice, 12.50]", "+I[2, Bob, null]"}
	if !slices.Equal(out.rows, want) {
		t.Fatalf("got %q, want %q", out.rows, want)
	}
}

func TestSourceMalformedRecord(t *testing.T) {
	b := newBroker(t)
	b.topic("m", 1)
	b.produce(rec("m", 0, "", jsonRow(1, "a")), rec("m", 0, "", `{"id":"zz","name":"b"}`), rec("m", 0, "", jsonRow(3, "c")))
	s := newSession(t, nil)
	_, err := run(t, s, jsonTable(b, "src", "m")+"SELECT * FROM src;")
	if err == nil || !strings.Contains(err.Error(), "kafka 'src': topic 'm' partition 0 offset 1: value: column 'id'") {
		t.Fatalf("want a parse error naming topic, partition and offset, got %v", err)
	}
	s = newSession(t, nil)
	out := mustRun(t, s, jsonTable(b, "src", "m", "json.ignore-parse-errors", "true")+"SELECT * FROM src;")
	if want := []string{"+I[1, a]", "+I[3, c]"}; !slices.Equal(out.rows, want) {
		t.Fatalf("got %q, want %q", out.rows, want)
	}
	// The skipped record is counted.
	f := kafka.New()
	src, _ := f.NewSource(table(idName, "topic", "m", "properties.bootstrap.servers", b.addr, "format", "json",
		"json.ignore-parse-errors", "true", "scan.bounded.mode", "latest-offset", "scan.startup.mode", "earliest-offset"))
	if err := src.Open(context.Background(), 0, 1); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if ids := readIDs(t, src, 1<<30); !slices.Equal(ids, []int{1, 3}) {
		t.Fatalf("ids %v", ids)
	}
	if n := src.(interface{ Skipped() int64 }).Skipped(); n != 1 {
		t.Fatalf("skipped %d records, want 1", n)
	}
}

func TestSourceTopicPattern(t *testing.T) {
	b := newBroker(t)
	b.topic("logs-a", 1)
	b.topic("logs-b", 2)
	b.topic("other", 1)
	b.produceTo(rec("logs-a", 0, "", jsonRow(1, "a")), rec("logs-b", 1, "", jsonRow(2, "b")), rec("other", 0, "", jsonRow(3, "o")))
	s := newSession(t, nil)
	out := mustRun(t, s, "SET 'parallelism.default' = '2';\n"+
		"CREATE TABLE src (id INT, name STRING, topic STRING METADATA VIRTUAL) "+with("connector", "kafka", "topic-pattern", "logs-.*",
		"properties.bootstrap.servers", b.addr, "format", "json", "scan.bounded.mode", "latest-offset")+";\nSELECT * FROM src;")
	if want := []string{"+I[1, a, logs-a]", "+I[2, b, logs-b]"}; !slices.Equal(out.sorted(), want) {
		t.Fatalf("got %q, want %q", out.sorted(), want)
	}
	// Several topics by name.
	out = mustRun(t, newSession(t, nil), "CREATE TABLE src (id INT, name STRING) "+with("connector", "kafka", "topic", "logs-a;other",
		"properties.bootstrap.servers", b.addr, "format", "json", "scan.bounded.mode", "latest-offset")+";\nSELECT * FROM src;")
	if want := []string{"+I[1, a]", "+I[3, o]"}; !slices.Equal(out.sorted(), want) {
		t.Fatalf("got %q, want %q", out.sorted(), want)
	}
	_, err := run(t, newSession(t, nil), "CREATE TABLE src (id INT, name STRING) "+with("connector", "kafka", "topic", "nope",
		"properties.bootstrap.servers", b.addr, "format", "json", "scan.bounded.mode", "latest-offset")+";\nSELECT * FROM src;")
	if err == nil || !strings.Contains(err.Error(), "topic 'nope' does not exist") {
		t.Fatalf("got %v", err)
	}
}

func TestAvroAndDebezium(t *testing.T) {
	b := newBroker(t)
	b.topic("in", 2)
	seed(b, "in", 2, 50)
	b.topic("av", 2)
	s := newSession(t, nil)
	mustRun(t, s, jsonTable(b, "src", "in")+
		"CREATE TABLE av (id INT, name STRING) "+with("connector", "kafka", "topic", "av", "properties.bootstrap.servers", b.addr,
		"format", "avro", "scan.bounded.mode", "latest-offset")+";\n"+
		"INSERT INTO av SELECT * FROM src;\n")
	got := mustRun(t, s, "SELECT * FROM av;").sorted()
	want := mustRun(t, s, "SELECT * FROM src;").sorted()
	if len(got) != 50 || !slices.Equal(got, want) {
		t.Fatalf("avro round trip: got %d rows %q, want %q", len(got), got, want)
	}

	// debezium-json: an updating query written as Debezium messages and
	// read back as a changelog.
	b.topic("dbz", 1)
	mustRun(t, s, "SET 'table.exec.mini-batch.size' = '1';\n"+
		"CREATE TABLE dbz (name STRING, cnt BIGINT) "+with("connector", "kafka", "topic", "dbz", "properties.bootstrap.servers", b.addr,
		"format", "debezium-json", "scan.bounded.mode", "latest-offset")+";\n"+
		"INSERT INTO dbz SELECT name, COUNT(*) FROM src GROUP BY name;\n")
	out := mustRun(t, s, "SELECT name, SUM(cnt) FROM dbz GROUP BY name;")
	final := map[string]string{}
	for _, r := range out.rows {
		if strings.HasPrefix(r, "+I") || strings.HasPrefix(r, "+U") {
			name, v, _ := strings.Cut(strings.TrimSuffix(r[3:], "]"), ", ")
			final[name] = v
		}
	}
	for i := 0; i < 7; i++ {
		want := fmt.Sprint((50 - i + 6) / 7) // ids 0..49 with id mod 7 = i
		if final[fmt.Sprint("n", i)] != want {
			t.Errorf("n%d: final count %q, want %s (rows %q)", i, final[fmt.Sprint("n", i)], want, out.rows)
		}
	}
}

func TestMetadataWithComputedAndWatermark(t *testing.T) {
	b := newBroker(t)
	b.topic("t", 1)
	r1, r2 := rec("t", 0, "", jsonRow(1, "a")), rec("t", 0, "", jsonRow(2, "b"))
	r1.Timestamp, r2.Timestamp = time.UnixMilli(1_700_000_000_000), time.UnixMilli(1_700_000_001_000)
	b.produce(r1, r2)
	s := newSession(t, nil)
	out := mustRun(t, s, `CREATE TABLE src (
  id INT, name STRING,
  off BIGINT METADATA FROM 'offset' VIRTUAL,
  next_off AS off + 1,
  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) `+with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "scan.bounded.mode", "latest-offset")+`;
DESCRIBE src;
SELECT id, off, next_off FROM src;`)
	if want := []string{"+I[1, 0, 1]", "+I[2, 1, 2]"}; !slices.Equal(out.rows[len(out.rows)-2:], want) {
		t.Fatalf("got %q, want %q at the end", out.rows, want)
	}
	desc := strings.Join(out.rows, "\n")
	for _, w := range []string{"METADATA FROM 'offset' VIRTUAL", "METADATA FROM 'timestamp'", "AS `off` + 1"} {
		if !strings.Contains(desc, w) && !strings.Contains(desc, strings.ReplaceAll(w, "`", "")) {
			t.Errorf("DESCRIBE lacks %q:\n%s", w, desc)
		}
	}
}
