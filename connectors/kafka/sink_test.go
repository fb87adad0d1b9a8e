package kafka_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// seed writes n JSON rows {id, name: "n<id%7>"} over the topic's
// partitions, in record batches of at most 64 records (fetches return
// whole batches: small ones make small source batches).
func seed(b *broker, topic string, partitions int32, n int) {
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, rec(topic, int32(i)%partitions, "", jsonRow(i, fmt.Sprint("n", i%7))))
		if len(recs) == 64*int(partitions) || i == n-1 {
			b.produceTo(recs...)
			recs = recs[:0]
		}
	}
}

func wantRows(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, jsonRow(i, fmt.Sprint("n", i%7)))
	}
	slices.Sort(out)
	return out
}

// noOpenTransactions checks that no transaction is left open on topic: the
// last stable offsets reach the high watermarks.
func noOpenTransactions(t *testing.T, b *broker, topic string) {
	t.Helper()
	lso, err := b.adm.ListCommittedOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	hw, err := b.adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, o := range hw[topic] {
		if l := lso[topic][p]; l.Offset != o.Offset {
			t.Errorf("topic %s partition %d: last stable offset %d < high watermark %d: a transaction is open", topic, p, l.Offset, o.Offset)
		}
	}
}

func sinkScript(b *broker, out string, sinkOpts ...string) string {
	return jsonTable(b, "src", "in") +
		"CREATE TABLE dst (id INT, name STRING) " + with(dedup(append([]string{"connector", "kafka", "topic", out,
		"properties.bootstrap.servers", b.addr, "format", "json"}, sinkOpts...))...) + ";\n" +
		"INSERT INTO dst SELECT * FROM src;\n"
}

func TestSinkDeliveryGuarantees(t *testing.T) {
	b := newBroker(t)
	b.topic("in", 3)
	seed(b, "in", 3, 500)
	cases := []struct {
		name     string
		settings string
		opts     []string
	}{
		{"none", "", []string{"sink.delivery-guarantee", "none"}},
		{"at-least-once", "", nil},
		{"at-least-once-checkpointed", "SET 'checkpoint.interval.ms' = '20';\nSET 'checkpoint.dir' = 'chk';\n", []string{"sink.delivery-guarantee", "at-least-once"}},
		{"exactly-once", "", []string{"sink.delivery-guarantee", "exactly-once", "sink.transactional-id-prefix", "eo1"}},
		{"exactly-once-checkpointed", "SET 'checkpoint.interval.ms' = '20';\nSET 'checkpoint.dir' = 'chk';\nSET 'parallelism.default' = '2';\n",
			[]string{"sink.delivery-guarantee", "exactly-once", "sink.transactional-id-prefix", "eo2"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := fmt.Sprint("out", i)
			b.topic(out, 2)
			s := newSession(t, nil)
			mustRun(t, s, c.settings+sinkScript(b, out, c.opts...))
			got := values(b.read(out, true), true)
			if want := wantRows(500); !slices.Equal(got, want) {
				t.Fatalf("read_committed reader got %d records, want %d", len(got), len(want))
			}
			noOpenTransactions(t, b, out)
		})
	}
}

func TestSinkPartitionersKeysAndTimestamp(t *testing.T) {
	b := newBroker(t)
	b.topic("in", 2)
	seed(b, "in", 2, 40)
	b.topic("fixed", 4)
	s := newSession(t, nil)
	mustRun(t, s, "SET 'parallelism.default' = '2';\n"+sinkScript(b, "fixed", "sink.partitioner", "fixed"))
	recs := b.read("fixed", true)
	if len(recs) != 40 {
		t.Fatalf("got %d records", len(recs))
	}
	for _, r := range recs {
		if r.Partition > 1 {
			t.Fatalf("fixed partitioner: subtask wrote partition %d (want subtask mod 4 = 0 or 1)", r.Partition)
		}
	}

	b.topic("rr", 4)
	mustRun(t, newSession(t, nil), sinkScript(b, "rr", "sink.partitioner", "round-robin"))
	perPart := map[int32]int{}
	for _, r := range b.read("rr", true) {
		perPart[r.Partition]++
	}
	if len(perPart) != 4 {
		t.Fatalf("round-robin wrote partitions %v", perPart)
	}

	// Keys from key.fields, the value without them, and the record
	// timestamp from a writable metadata column.
	b.topic("keyed", 3)
	mustRun(t, newSession(t, nil), jsonTable(b, "src", "in")+
		"CREATE TABLE dst (id INT, name STRING, ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp') "+with("connector", "kafka", "topic", "keyed",
		"properties.bootstrap.servers", b.addr, "key.format", "json", "key.fields", "id", "value.format", "json",
		"value.fields-include", "EXCEPT_KEY")+";\n"+
		"INSERT INTO dst SELECT id, name, TO_TIMESTAMP_LTZ(1700000000000 + id, 3) FROM src;\n")
	recs = b.read("keyed", true)
	if len(recs) != 40 {
		t.Fatalf("got %d records", len(recs))
	}
	for _, r := range recs {
		var id int
		if _, err := fmt.Sscanf(string(r.Key), `{"id":%d}`, &id); err != nil {
			t.Fatalf("key %q: %v", r.Key, err)
		}
		if want := fmt.Sprintf(`{"name":"n%d"}`, id%7); string(r.Value) != want {
			t.Errorf("value %q, want %q", r.Value, want)
		}
		if want := time.UnixMilli(1700000000000 + int64(id)); !r.Timestamp.Equal(want) {
			t.Errorf("id %d: timestamp %v, want %v", id, r.Timestamp, want)
		}
	}
	// Same key, same partition (the default partitioner hashes the key).
	again := newSession(t, nil)
	b.topic("keyed2", 3)
	mustRun(t, again, jsonTable(b, "src", "in")+
		"CREATE TABLE dst (id INT, name STRING) "+with("connector", "kafka", "topic", "keyed2",
		"properties.bootstrap.servers", b.addr, "key.format", "json", "key.fields", "id", "value.format", "json")+";\n"+
		"INSERT INTO dst SELECT * FROM src;\n")
	part := map[string]int32{}
	for _, r := range recs {
		part[string(r.Key)] = r.Partition
	}
	for _, r := range b.read("keyed2", true) {
		if part[string(r.Key)] != r.Partition {
			t.Fatalf("key %s went to partition %d and %d", r.Key, part[string(r.Key)], r.Partition)
		}
	}
}

func TestUpsertKafka(t *testing.T) {
	b := newBroker(t)
	b.topic("in", 2)
	seed(b, "in", 2, 70)
	b.topic("counts", 2)
	s := newSession(t, nil)
	upsert := func(name string, extra ...string) string {
		return "CREATE TABLE " + name + " (name STRING, cnt BIGINT, PRIMARY KEY (name) NOT ENFORCED) " + with(append([]string{"connector", "upsert-kafka",
			"topic", "counts", "properties.bootstrap.servers", b.addr, "key.format", "json", "value.format", "json"}, extra...)...) + ";\n"
	}
	mustRun(t, s, "SET 'table.exec.mini-batch.size' = '1';\n"+jsonTable(b, "src", "in")+upsert("counts")+
		"INSERT INTO counts SELECT name, COUNT(*) FROM src GROUP BY name;\n")
	// The last record of every key is its final count.
	last := map[string]string{}
	for _, r := range b.read("counts", true) {
		last[string(r.Key)] = string(r.Value)
	}
	for i := 0; i < 7; i++ {
		k := fmt.Sprintf(`{"name":"n%d"}`, i)
		if want := fmt.Sprintf(`{"name":"n%d","cnt":10}`, i); last[k] != want {
			t.Errorf("key %s: last value %s, want %s", k, last[k], want)
		}
	}

	// The source turns upserts and tombstones into a changelog with
	// before-images.
	b.topic("u", 1)
	b.produce(rec("u", 0, `{"name":"a"}`, `{"name":"a","cnt":1}`), rec("u", 0, `{"name":"b"}`, `{"name":"b","cnt":1}`),
		rec("u", 0, `{"name":"a"}`, `{"name":"a","cnt":2}`), rec("u", 0, `{"name":"a"}`, `{"name":"a","cnt":2}`),
		&kgo.Record{Topic: "u", Key: []byte(`{"name":"b"}`)}, &kgo.Record{Topic: "u", Key: []byte(`{"name":"zz"}`)})
	out := mustRun(t, newSession(t, nil), strings.ReplaceAll(upsert("uk", "scan.bounded.mode", "latest-offset"), "'counts'", "'u'")+
		"SELECT * FROM uk;")
	want := []string{"+I[a, 1]", "+I[b, 1]", "-U[a, 1]", "+U[a, 2]", "-D[b, 1]"}
	if !slices.Equal(out.rows, want) {
		t.Fatalf("got %q, want %q", out.rows, want)
	}
	// Copied into another upsert-kafka table: -U is dropped, -D becomes a
	// tombstone.
	b.topic("copy", 1)
	mustRun(t, newSession(t, nil), strings.ReplaceAll(upsert("uk", "scan.bounded.mode", "latest-offset"), "'counts'", "'u'")+
		strings.ReplaceAll(upsert("cp"), "'counts'", "'copy'")+"INSERT INTO cp SELECT * FROM uk;\n")
	wantRecs := []string{`{"name":"a"}={"name":"a","cnt":1}`, `{"name":"b"}={"name":"b","cnt":1}`, `{"name":"a"}={"name":"a","cnt":2}`, `{"name":"b"}=<nil>`}
	if got := values(b.read("copy", true), false); !slices.Equal(got, wantRecs) {
		t.Fatalf("copy: got %q, want %q", got, wantRecs)
	}
	// An aggregate over it sees retractions.
	out = mustRun(t, newSession(t, nil), strings.ReplaceAll(upsert("uk", "scan.bounded.mode", "latest-offset"), "'counts'", "'u'")+
		"SELECT SUM(cnt) FROM uk;")
	if got := out.rows[len(out.rows)-1]; !strings.HasSuffix(got, "[2]") {
		t.Fatalf("SUM over the changelog ends with %q (rows %q), want 2", got, out.rows)
	}
}

func TestValidate(t *testing.T) {
	b := newBroker(t)
	cases := []struct {
		ddl  string
		want string
	}{
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "format", "json"), "option 'properties.bootstrap.servers': required"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "properties.bootstrap.servers", b.addr, "format", "json"), "option 'topic': required"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr), "option 'value.format': required"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "scan.startup.mode", "newest"), "option 'scan.startup.mode'"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "scan.startup.mode", "timestamp"), "option 'scan.startup.timestamp-millis': required"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "p0:1"), "option 'scan.startup.specific-offsets': invalid"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "sink.delivery-guarantee", "exactly-once"), "option 'sink.transactional-id-prefix': required"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "sink.partitioner", "custom"), "option 'sink.partitioner'"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "properties.sasl.mechanism", "PLAIN"), "option 'properties.sasl.mechanism': unknown or unsupported Kafka property"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "json.bogus", "1"), "option 'json.bogus'"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "value.format", "json", "value.json.bogus", "1"), "option 'value.json.bogus'"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "key.fields", "a"), "option 'key.fields': needs 'key.format'"},
		{"CREATE TABLE x (a INT) " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json", "key.format", "json", "key.fields", "b"), "'b' is not a column"},
		{"CREATE TABLE x (a INT) " + with("connector", "upsert-kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "key.format", "json", "value.format", "json"), "upsert-kafka needs a PRIMARY KEY"},
		{"CREATE TABLE x (a INT, PRIMARY KEY (a) NOT ENFORCED) " + with("connector", "upsert-kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "value.format", "json"), "option 'key.format': required"},
		{"CREATE TABLE x (a INT, o BIGINT METADATA FROM 'offsets') " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json"), "has no metadata 'offsets'"},
		{"CREATE TABLE x (a INT, o INT METADATA FROM 'offset') " + with("connector", "kafka", "topic", "t", "properties.bootstrap.servers", b.addr, "format", "json"), "has type BIGINT, not INT"},
		{"CREATE TABLE x (a INT, o BIGINT METADATA FROM 'offset') " + with("connector", "datagen"), "connector 'datagen' has no metadata columns"},
	}
	for _, c := range cases {
		_, err := run(t, newSession(t, nil), c.ddl+";")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.ddl, err, c.want)
		}
	}
	// A read-only metadata column must be VIRTUAL in a table written to.
	s := newSession(t, nil)
	b.topic("t", 1)
	_, err := run(t, s, "CREATE TABLE x (a INT, o BIGINT METADATA FROM 'offset') "+with("connector", "kafka", "topic", "t",
		"properties.bootstrap.servers", b.addr, "format", "json")+";\nINSERT INTO x VALUES (1, 2);")
	if err == nil || !strings.Contains(err.Error(), "metadata column 'o' (FROM 'offset') is read-only") {
		t.Errorf("got %v", err)
	}
}
