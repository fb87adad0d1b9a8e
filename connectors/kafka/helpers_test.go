package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kafka"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// broker is an in-process kfake cluster.
type broker struct {
	t    testing.TB
	c    *kfake.Cluster
	addr string
	cl   *kgo.Client
	adm  *kadm.Client
}

func newBroker(t testing.TB) *broker {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := strings.Join(c.ListenAddrs(), ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &broker{t: t, c: c, addr: addr, cl: cl, adm: kadm.NewClient(cl)}
}

func (b *broker) topic(name string, partitions int32) {
	b.t.Helper()
	if _, err := b.adm.CreateTopic(context.Background(), partitions, 1, nil, name); err != nil {
		b.t.Fatal(err)
	}
}

// produce writes records synchronously (value nil = tombstone).
func (b *broker) produce(recs ...*kgo.Record) {
	b.t.Helper()
	if err := b.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.t.Fatal(err)
	}
}

func rec(topic string, partition int32, key, value string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: partition, Value: []byte(value)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

// manual is a producer that writes to the partition a record names.
func (b *broker) manual() *kgo.Client {
	b.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(cl.Close)
	return cl
}

func (b *broker) produceTo(recs ...*kgo.Record) {
	b.t.Helper()
	if err := b.manual().ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.t.Fatal(err)
	}
}

// readCommitted returns every record a read_committed consumer sees in
// topic up to the last stable offsets, as "key=value" strings (value
// "<nil>" for tombstones), sorted when sorted is set.
func (b *broker) read(topic string, committed bool) []*kgo.Record {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var end kadm.ListedOffsets
	var err error
	if committed {
		end, err = b.adm.ListCommittedOffsets(ctx, topic)
	} else {
		end, err = b.adm.ListEndOffsets(ctx, topic)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	opts := []kgo.Opt{kgo.SeedBrokers(b.c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.KeepControlRecords()}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		b.t.Fatal(err)
	}
	defer cl.Close()
	next := map[int32]int64{}
	done := func() bool {
		for _, o := range end[topic] {
			if next[o.Partition] < o.Offset {
				return false
			}
		}
		return true
	}
	var out []*kgo.Record
	for !done() {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			b.t.Fatalf("reading %s: %v (read %v of %v)", topic, err, next, end)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next[r.Partition] = r.Offset + 1
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}

// values renders records as "key=value" ("value" without a key).
func values(recs []*kgo.Record, sorted bool) []string {
	var out []string
	for _, r := range recs {
		v := string(r.Value)
		if r.Value == nil {
			v = "<nil>"
		}
		if r.Key != nil {
			v = string(r.Key) + "=" + v
		}
		out = append(out, v)
	}
	if sorted {
		sort.Strings(out)
	}
	return out
}

// collector gathers a SELECT's rows as "+I[a, b]".
type collector struct {
	schema types.Schema
	rows   []string
	msgs   []string
}

func (c *collector) Message(m string) error { c.msgs = append(c.msgs, m); return nil }
func (c *collector) Begin(s types.Schema, _ session.ResultInfo) error {
	c.schema = s
	return nil
}
func (c *collector) Rows(b batch.Batch) error {
	for i := 0; i < b.Len(); i++ {
		vals := make([]string, b.Rec.NumCols())
		for j := range vals {
			if b.Column(j).IsNull(i) {
				vals[j] = "null"
				continue
			}
			vals[j] = format.Display(b.Column(j), i, c.schema.Fields[j].Type, time.UTC)
		}
		c.rows = append(c.rows, b.Kind(i).String()+"["+strings.Join(vals, ", ")+"]")
	}
	return nil
}
func (c *collector) End() error { return nil }

func (c *collector) sorted() []string {
	out := append([]string(nil), c.rows...)
	sort.Strings(out)
	return out
}

func newSession(t testing.TB, inject func(string, int) error, extra ...connectors.Factory) *session.Session {
	t.Helper()
	s, err := session.New(session.Options{Dir: t.TempDir(), DMLSync: true, Logger: slog.New(slog.DiscardHandler),
		Connectors: append([]connectors.Factory{kafka.New(), kafka.NewUpsert()}, extra...), InjectFault: inject})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run executes a script and returns its output.
func run(t testing.TB, s *session.Session, script string) (*collector, error) {
	t.Helper()
	c := &collector{}
	err := s.ExecuteScript(context.Background(), script, c)
	return c, err
}

func mustRun(t testing.TB, s *session.Session, script string) *collector {
	t.Helper()
	c, err := run(t, s, script)
	if err != nil {
		t.Fatalf("%v\nscript:\n%s", err, script)
	}
	return c
}

func with(opts ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(opts); i += 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "'%s' = '%s'", opts[i], opts[i+1])
	}
	return "WITH (" + b.String() + ")"
}
