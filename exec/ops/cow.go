package ops

import (
	"runtime"
	"sync/atomic"
)

// cowEpochs makes an in-memory operator's snapshots copy-on-write (the
// join's buckets, the Top-N's partitions): the synchronous phase only
// collects its entries' pointers and starts a new epoch, and while an
// asynchronous phase may still read entries of earlier epochs, the
// operator replaces such an entry by a copy before changing it in place.
type cowEpochs struct {
	epoch   uint32       // snapshots taken (entries record theirs)
	running atomic.Int64 // asynchronous phases still reading entries
}

// shared says an entry made in epoch e may be read by a snapshot still
// being written, so it must not change in place.
func (c *cowEpochs) shared(e uint32) bool {
	return e < c.epoch && c.running.Load() > 0
}

// beginCOW starts a snapshot's epoch. The returned release ends its
// reading of entries, once: the asynchronous phase calls it after the
// encoding; if that phase is dropped unrun (the checkpoint failed in
// another operator first), it runs when the garbage collector frees
// captured (what the phase holds), so that copying stops.
func beginCOW[T any](c *cowEpochs, captured *T) (release func()) {
	c.epoch++
	c.running.Add(1)
	var released atomic.Bool
	running := &c.running
	release = func() {
		if released.CompareAndSwap(false, true) {
			running.Add(-1)
		}
	}
	runtime.AddCleanup(captured, func(release func()) { release() }, release)
	return release
}
