package session

import (
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// discardOutput drops everything.
type discardOutput struct{}

func (discardOutput) Message(string) error                 { return nil }
func (discardOutput) Begin(types.Schema, ResultInfo) error { return nil }
func (discardOutput) Rows(batch.Batch) error               { return nil }
func (discardOutput) End() error                           { return nil }
