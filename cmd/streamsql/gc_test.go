package main

import "testing"

// The GC tuning reads the machine's memory from /proc/meminfo (CI runs on
// Linux); a parse failure would silently drop the memory limit.
func TestPhysicalMemory(t *testing.T) {
	if m := physicalMemory(); m < 64<<20 {
		t.Fatalf("physicalMemory() = %d, want the machine's memory", m)
	}
}
