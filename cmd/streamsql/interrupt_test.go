package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunInterrupted starts an unbounded query, waits for its first rows,
// sends SIGINT and expects a clean cancellation: exit status 130.
func TestRunInterrupted(t *testing.T) {
	dir := t.TempDir()
	writeSQL(t, dir, "endless.sql", "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100');\n"+
		"SELECT id FROM g;\n")
	cmd := exec.Command(binary, "run", filepath.Join(dir, "endless.sql"))
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	firstRow := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if !sent && strings.HasPrefix(sc.Text(), "| +I |") {
				firstRow <- true
				sent = true
			}
		}
		if !sent {
			firstRow <- false
		}
	}()
	select {
	case ok := <-firstRow:
		if !ok {
			cmd.Wait()
			t.Fatalf("no rows before the query ended; stderr %q", errOut.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no rows within 20s; stderr %q", errOut.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("SIGINT did not stop the job within 20s")
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitCancelled {
		t.Fatalf("exit: %v, want status %d; stderr %q", err, exitCancelled, errOut.String())
	}
	if !strings.Contains(errOut.String(), "Interrupted") {
		t.Errorf("stderr %q", errOut.String())
	}
}
