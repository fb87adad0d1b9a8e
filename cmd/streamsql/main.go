// Command streamsql runs Flink-style SQL: an interactive shell, scripts
// (run), plans (explain) and golden-file tests (test). Run `streamsql -h`.
package main

import "os"

func main() {
	tuneGC()
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(c.main(os.Args[1:]))
}
