package sqltest

import (
	"context"
	"flag"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the .out golden files with the actual output")

// TestGolden runs every tests/sql/**/*.sql file against its .out golden.
func TestGolden(t *testing.T) {
	files, err := Files(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			diff, err := CheckContext(ctx, f, *update)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case diff != "" && *update:
				t.Logf("updated %s", GoldenPath(f))
			case diff != "":
				t.Errorf("output differs from %s (go test ./tests/sql/ -update rewrites it):\n%s", GoldenPath(f), diff)
			}
		})
	}
}
