package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestJoinEndedInputDropsOtherSide: after one input ends, the join emits
// exactly the changelog it would have emitted keeping both sides (batch
// for batch, over random changelogs with retractions, for every kind, with
// and without a residual), while the other side keeps no rows: none on
// hashmap, and on rocksdb no more than it had when the input ended.
func TestJoinEndedInputDropsOtherSide(t *testing.T) {
	for _, backend := range joinBackends {
		for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinRight, JoinFull} {
			for _, ended := range []int{0, 1} {
				for _, insertOnly := range []bool{false, true} {
					name := fmt.Sprintf("%s: %v join, input %d ends, insert-only %v", backend, kind, ended, insertOnly)
					mk := func(backend string) *Join {
						j := testJoin(kind, true)
						j.LeftInsertOnly, j.RightInsertOnly = insertOnly, insertOnly
						return openJoin(t, j, backend, nil)
					}
					ref, op := mk("hashmap"), mk(backend)
					live := 1 - ended
					g := &joinGen{rng: rand.New(rand.NewPCG(uint64(kind)*3+uint64(ended), 5))}
					var want, got debugLog
					var stored int
					for step := 0; step < 80; step++ {
						side := g.rng.IntN(2)
						if step == 40 {
							if err := op.EndInput(ended, &got); err != nil {
								t.Fatal(err)
							}
							stored = storedRows(t, op, live)
							if backend == "hashmap" && stored != 0 {
								t.Fatalf("%s: side %d keeps %d rows after input %d ended", name, live, stored, ended)
							}
						}
						if step >= 40 {
							side = live
						}
						var b = g.batch(side)
						if insertOnly {
							b = insertOnlyBatch(g.rng, side)
						}
						if err := ref.Process(side, b, &want); err != nil {
							t.Fatal(err)
						}
						if err := op.Process(side, b, &got); err != nil {
							t.Fatalf("%s, step %d: %v", name, step, err)
						}
						if w, gt := want.take(), got.take(); w != gt {
							t.Fatalf("%s, step %d:\ngot\n%s\nwant\n%s", name, step, gt, w)
						}
					}
					if n := storedRows(t, op, live); n != stored {
						t.Fatalf("%s: side %d stores %d rows at the end, %d when input %d ended", name, live, n, stored, ended)
					}
					if w := storedRows(t, ref, live); w <= stored {
						t.Fatalf("%s: the reference stores %d rows on side %d, no more than the ended join's %d: the test shows nothing", name, w, live, stored)
					}
					ref.Close()
					op.Close()
				}
			}
		}
	}
}
