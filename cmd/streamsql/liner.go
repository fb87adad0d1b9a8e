package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/peterh/liner"
)

// historyFile is the shell's history, in the user's home directory.
const historyFile = ".streamsql_history"

// linerReader is the line editor on a terminal, with persistent history.
type linerReader struct {
	st   *liner.State
	path string
	log  *slog.Logger
}

func newLinerReader(log *slog.Logger) *linerReader {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	st.SetMultiLineMode(true)
	r := &linerReader{st: st, log: log}
	if home, err := os.UserHomeDir(); err == nil {
		r.path = filepath.Join(home, historyFile)
		if f, err := os.Open(r.path); err == nil {
			if _, err := st.ReadHistory(f); err != nil {
				log.Warn("read shell history", "path", r.path, "err", err)
			}
			f.Close()
		}
	}
	return r
}

func (r *linerReader) readLine(prompt string) (string, error) {
	line, err := r.st.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", errAbortLine
	}
	return line, err
}

func (r *linerReader) addHistory(entry string) { r.st.AppendHistory(entry) }

// close saves the history and gives the terminal back its mode.
func (r *linerReader) close() error {
	var errs []error
	if r.path != "" {
		if err := r.saveHistory(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.st.Close(); err != nil {
		errs = append(errs, fmt.Errorf("restore terminal: %w", err))
	}
	return errors.Join(errs...)
}

func (r *linerReader) saveHistory() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("save shell history: %w", err)
	}
	if _, err := r.st.WriteHistory(f); err != nil {
		f.Close()
		return fmt.Errorf("save shell history: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save shell history: %w", err)
	}
	return nil
}

// stdioIsTerminal reports whether stdin and stdout are both a terminal,
// which the line editor needs.
func stdioIsTerminal() bool {
	if _, err := liner.TerminalMode(); err != nil {
		return false
	}
	fi, err := os.Stdout.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
