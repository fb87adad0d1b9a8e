package registry

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	r := New()
	if got := strings.Join(r.Names(), ","); got != "blackhole,datagen,filesystem,kafka,nexmark,postgres,print,upsert-kafka" {
		t.Errorf("Names() = %s", got)
	}
	for _, n := range r.Names() {
		f, err := r.Lookup(n)
		if err != nil || f.Name() != n {
			t.Errorf("Lookup(%q) = %v, %v", n, f, err)
		}
	}
	_, err := r.Lookup("jdbc")
	if err == nil || err.Error() != "unknown connector 'jdbc' (available: blackhole, datagen, filesystem, kafka, nexmark, postgres, print, upsert-kafka)" {
		t.Errorf("Lookup(jdbc) error = %v", err)
	}
	// Names returns a copy: callers cannot corrupt the registry.
	r.Names()[0] = "x"
	if r.Names()[0] != "blackhole" {
		t.Error("Names() exposed internal state")
	}
}
