package sqltest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// copyData copies the test data of dir into dst: every file and directory
// except the tests themselves (.sql, .out) and Go files, so relative paths
// in the SQL find their data and sinks write into dst, never the repo.
func copyData(dir, dst string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() || isTestSource(p) {
			return nil
		}
		return copyFile(p, target)
	})
}

func isTestSource(p string) bool {
	for _, ext := range []string{".sql", ".out", ".go"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy test data: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy test data: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy test data %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy test data %s: %w", src, err)
	}
	return nil
}
