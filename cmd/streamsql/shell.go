package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/streamsql/streamsql/cmd/streamsql/render"
	"github.com/streamsql/streamsql/cmd/streamsql/script"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql"
)

const (
	prompt     = "streamsql> "
	contPrompt = "      -> "
)

// errInterrupted ends a non-interactive shell on SIGINT.
var errInterrupted = errors.New("interrupted")

// lineReader is where the shell's input comes from: the line editor on a
// terminal, plain lines otherwise (liner would echo its prompts into a
// pipe).
type lineReader interface {
	// readLine returns a line without its line break; io.EOF at the end,
	// errAbortLine when the user pressed Ctrl-C at the prompt.
	readLine(prompt string) (string, error)
	addHistory(entry string)
	close() error
}

var errAbortLine = errors.New("line aborted")

// shell is the interactive SQL shell: statements end with ';' and may span
// lines; Ctrl-C cancels the running query (or clears the line at the
// prompt); Ctrl-D, quit; or exit; leave.
func (c *cli) shell(log *slog.Logger) int {
	s, err := session.New(session.Options{Stdout: c.stdout, Logger: log, DMLSync: false})
	if err != nil {
		fmt.Fprintf(c.stderr, "streamsql: start session: %v\n", err)
		return exitJobFailed
	}
	defer func() {
		if err := s.Close(); err != nil {
			log.Warn("close session", "err", err)
		}
	}()

	root, stopRoot := context.WithCancel(context.Background())
	defer stopRoot()
	interactive := c.stdin == os.Stdin && stdioIsTerminal()
	var in lineReader
	if interactive {
		in = newLinerReader(log)
	} else {
		in = newPlainReader(root, c.stdin)
	}
	defer in.close()

	q := &queryCanceller{}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			// Ctrl-C cancels the running query; with nothing running, a
			// piped shell stops (a terminal's prompt handles Ctrl-C itself).
			if !q.cancel() && !interactive {
				stopRoot()
			}
		}
	}()

	var buf strings.Builder
	for {
		p := prompt
		if buf.Len() > 0 {
			p = contPrompt
		}
		line, err := in.readLine(p)
		switch {
		case errors.Is(err, errAbortLine):
			buf.Reset()
			continue
		case errors.Is(err, errInterrupted):
			return exitCancelled
		case errors.Is(err, io.EOF):
			// A last statement without ';' in piped input still runs.
			if strings.TrimSpace(buf.String()) != "" && !interactive {
				c.shellExecute(root, s, q, buf.String())
			}
			if interactive {
				fmt.Fprintln(c.stdout)
			}
			return exitOK
		case err != nil:
			fmt.Fprintf(c.stderr, "streamsql: read input: %v\n", err)
			return exitJobFailed
		}
		buf.WriteString(line)
		buf.WriteString("\n")
		if !sql.Complete(buf.String()) {
			continue
		}
		text := buf.String()
		buf.Reset()
		in.addHistory(strings.Join(strings.Fields(text), " "))
		if quit := c.shellExecute(root, s, q, text); quit {
			return exitOK
		}
	}
}

// shellExecute runs the statements of text one by one, each cancellable
// with Ctrl-C; it reports whether one of them was quit or exit.
func (c *cli) shellExecute(root context.Context, s *session.Session, q *queryCanceller, text string) (quit bool) {
	for _, st := range script.Split(text) {
		if isQuit(st.Text) {
			return true
		}
		ctx, cancel := context.WithCancel(root)
		q.set(cancel)
		out := render.NewOutput(c.stdout, c.stdout, render.FormatTable, time.Local)
		err := s.ExecuteScript(ctx, st.Padded(), out)
		q.set(nil)
		cancelled := ctx.Err() != nil
		cancel()
		if ferr := out.Finish(); ferr != nil && err == nil {
			err = ferr
		}
		switch {
		case cancelled:
			fmt.Fprintln(c.stdout, "[INFO] Query cancelled.")
		case err != nil:
			fmt.Fprint(c.stderr, "[ERROR] ")
			reportError(c.stderr, "", text, err)
		}
		if root.Err() != nil {
			return false
		}
	}
	return false
}

func isQuit(stmt string) bool {
	w := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";")))
	return w == "quit" || w == "exit"
}

// queryCanceller holds the cancel function of the running query, shared
// with the signal handler.
type queryCanceller struct {
	mu sync.Mutex
	fn context.CancelFunc
}

func (q *queryCanceller) set(fn context.CancelFunc) {
	q.mu.Lock()
	q.fn = fn
	q.mu.Unlock()
}

// cancel cancels the running query and reports whether there was one.
func (q *queryCanceller) cancel() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fn == nil {
		return false
	}
	q.fn()
	q.fn = nil
	return true
}

// plainReader reads lines from a pipe or file. Lines are read by a
// goroutine so that SIGINT can end a shell blocked on its input.
type plainReader struct {
	ctx   context.Context
	lines chan lineOrErr
}

type lineOrErr struct {
	line string
	err  error
}

func newPlainReader(ctx context.Context, r io.Reader) *plainReader {
	p := &plainReader{ctx: ctx, lines: make(chan lineOrErr)}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for sc.Scan() {
			select {
			case p.lines <- lineOrErr{line: sc.Text()}:
			case <-ctx.Done():
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		} else {
			err = fmt.Errorf("read stdin: %w", err)
		}
		select {
		case p.lines <- lineOrErr{err: err}:
		case <-ctx.Done():
		}
	}()
	return p
}

func (p *plainReader) readLine(string) (string, error) {
	select {
	case l := <-p.lines:
		return l.line, l.err
	case <-p.ctx.Done():
		return "", errInterrupted
	}
}

func (p *plainReader) addHistory(string) {}
func (p *plainReader) close() error      { return nil }
