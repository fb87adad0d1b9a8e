package session

import (
	"fmt"

	"github.com/streamsql/streamsql/checkpoint"
)

// CheckpointHistory returns the checkpoints (and savepoints) of job id, of
// every attempt, oldest first, also after the job finished: what `SHOW
// CHECKPOINTS` shows, for callers that report on jobs they ran, such as
// `streamsql bench`. Job ids are those Jobs lists. A job that ran without
// checkpointing has none.
func (s *Session) CheckpointHistory(id string) ([]checkpoint.Summary, error) {
	j, ok := s.job(id)
	if !ok {
		return nil, fmt.Errorf("unknown job '%s'", id)
	}
	return j.checkpoints(), nil
}
