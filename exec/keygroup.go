package exec

// Key groups, as in Flink: a key's hash picks one of maxParallelism key
// groups; a parallel subtask owns a contiguous range of key groups. State is
// stored per key group, so a snapshot taken at one parallelism can be
// restored at another.

// DefaultMaxParallelism is 'state.max-parallelism' unless set.
const DefaultMaxParallelism = 128

// KeyGroupOf maps a key hash to its key group.
func KeyGroupOf(hash uint64, maxParallelism int) int {
	return int(hash % uint64(maxParallelism))
}

// SubtaskForKeyGroup returns the subtask that owns key group kg.
func SubtaskForKeyGroup(kg, maxParallelism, parallelism int) int {
	return kg * parallelism / maxParallelism
}

// KeyGroupRange returns the key groups [start, end) owned by subtask.
func KeyGroupRange(subtask, maxParallelism, parallelism int) (start, end int) {
	start = (subtask*maxParallelism + parallelism - 1) / parallelism
	end = ((subtask+1)*maxParallelism + parallelism - 1) / parallelism
	return start, end
}
