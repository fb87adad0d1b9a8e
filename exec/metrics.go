package exec

import (
	"sync/atomic"
	"syscall"
	"time"
)

// Stats summarises a finished job.
type Stats struct {
	// RowsIn is the number of rows all sources produced.
	RowsIn int64
	// Wall is the job's elapsed time.
	Wall time.Duration
	// CPU is the process's user+system CPU time during the job (the whole
	// process: with one job running, that is the job's cost).
	CPU time.Duration
}

// RowsPerSecond is RowsIn over wall time.
func (s Stats) RowsPerSecond() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return float64(s.RowsIn) / s.Wall.Seconds()
}

// RowsPerCPUSecond is RowsIn over CPU time: throughput per core.
func (s Stats) RowsPerCPUSecond() float64 {
	if s.CPU <= 0 {
		return 0
	}
	return float64(s.RowsIn) / s.CPU.Seconds()
}

// jobCounters are updated by tasks while the job runs.
type jobCounters struct {
	rowsIn atomic.Int64
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
