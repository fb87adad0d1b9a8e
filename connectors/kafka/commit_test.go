package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamsql/streamsql/connectors/blackhole"
)

// With checkpoints and a 'properties.group.id', a completed checkpoint's
// offsets are committed to the group (for monitoring, as in Flink).
func TestSourceCommitsOffsetsOnCheckpoint(t *testing.T) {
	b := newBroker(t)
	b.topic("mon", 2)
	var recs []*kgo.Record
	for i := 0; i < 6; i++ {
		recs = append(recs, rec("mon", int32(i%2), "", jsonRow(i, fmt.Sprint("n", i))))
	}
	b.produceTo(recs...)
	s := newSession(t, nil, blackhole.New())
	script := jsonTable(b, "src", "mon", "scan.bounded.mode", "unbounded", "properties.group.id", "monitor") +
		"CREATE TABLE out (id INT, name STRING) WITH ('connector' = 'blackhole');\n" +
		"SET 'checkpoint.interval.ms' = '50';\n" +
		"INSERT INTO out SELECT id, name FROM src;\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.ExecuteScript(ctx, script, &collector{}) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		offs, err := b.adm.FetchOffsets(context.Background(), "monitor")
		if err == nil {
			p0, ok0 := offs.Lookup("mon", 0)
			p1, ok1 := offs.Lookup("mon", 1)
			if ok0 && ok1 && p0.At == 3 && p1.At == 3 {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the job ended before the offsets were committed: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets of group 'monitor' not committed: %v, %v", offs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
