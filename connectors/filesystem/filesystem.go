// Package filesystem implements Flink's 'filesystem' connector for local
// files: a bounded source over a file or a directory, and a sink writing
// rolling part files that become visible only when committed.
package filesystem

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/internal/opts"
)

const (
	defaultFileSize         = 128 << 20
	defaultRolloverInterval = 30 * time.Minute
)

// Factory creates filesystem sources and sinks.
type Factory struct{}

// New returns the filesystem factory.
func New() *Factory { return &Factory{} }

// Name implements connectors.Factory.
func (*Factory) Name() string { return "filesystem" }

// config is a validated filesystem table.
type config struct {
	table            string
	path             string // absolute, resolved against Env.Dir
	rawPath          string // as the user wrote it, for messages
	format           *format.Format
	fileSize         int64
	rolloverInterval time.Duration
}

func parse(t connectors.Table) (*config, error) {
	c := &config{table: t.Name, fileSize: defaultFileSize, rolloverInterval: defaultRolloverInterval}
	rawPath, ok := t.Options["path"]
	if !ok || strings.TrimSpace(rawPath) == "" {
		return nil, opts.Errorf(t.Name, "path", "required option is missing")
	}
	fmtName, ok := t.Options["format"]
	if !ok || fmtName == "" {
		return nil, opts.Errorf(t.Name, "format", "required option is missing (csv or json)")
	}
	p, err := resolve(t.Name, rawPath, t.Env.Dir)
	if err != nil {
		return nil, err
	}
	c.path = p
	c.rawPath = filepath.Clean(strings.TrimPrefix(rawPath, "file://"))
	for _, k := range opts.SortedKeys(t.Options) {
		v := t.Options[k]
		switch {
		case k == "path", k == "format", strings.HasPrefix(k, fmtName+"."):
		case k == "sink.rolling-policy.file-size":
			if c.fileSize, err = opts.MemorySize(t.Name, k, v); err == nil && c.fileSize == 0 {
				err = opts.Errorf(t.Name, k, "must be positive")
			}
		case k == "sink.rolling-policy.rollover-interval":
			if c.rolloverInterval, err = opts.Duration(t.Name, k, v); err == nil && c.rolloverInterval == 0 {
				err = opts.Errorf(t.Name, k, "must be positive")
			}
		case k == "sink.rolling-policy.check-interval":
			// We check the policy on every write, which is at least as
			// often as any interval: validate and accept it.
			_, err = opts.Duration(t.Name, k, v)
		case k == "source.monitor-interval", strings.HasPrefix(k, "sink.partition-commit."),
			k == "partition.default-name", k == "auto-compaction", k == "compaction.file-size":
			err = opts.NotSupported(t.Name, k)
		default:
			err = opts.Unknown(t.Name, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if c.format, err = format.New(t.Name, fmtName, t.Options, t.Schema); err != nil {
		return nil, err
	}
	if fmtName == "avro-confluent" {
		return nil, opts.Errorf(t.Name, "format", "format 'avro-confluent' frames single messages for Kafka and its schema registry; files use 'avro' (container files)")
	}
	return c, nil
}

// resolve turns the 'path' option into an absolute local path.
func resolve(table, p, dir string) (string, error) {
	if rest, ok := strings.CutPrefix(p, "file://"); ok {
		p = rest
	} else if i := strings.Index(p, "://"); i > 0 {
		return "", opts.Errorf(table, "path", "not supported yet: file system scheme '%s' (only local paths)", p[:i])
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Clean(p), nil
}

// display names a file in messages the way the user wrote the path
// (relative paths stay relative), so errors read the same on any machine.
func (c *config) display(file string) string {
	if rel, err := filepath.Rel(c.path, file); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Join(c.rawPath, rel)
	}
	return file
}

// shortenErr rewrites the path inside an *fs.PathError with display, keeping
// the cause (errors.Is(err, fs.ErrNotExist) still holds).
func (c *config) shortenErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: c.display(pe.Path), Err: pe.Err}
	}
	return err
}

// Validate implements connectors.Factory. It does not touch the path: a
// source's files may appear later, and a sink creates its directory.
func (*Factory) Validate(t connectors.Table) error {
	_, err := parse(t)
	return err
}

// NewSource implements connectors.Factory.
func (*Factory) NewSource(t connectors.Table) (connectors.Source, error) {
	c, err := parse(t)
	if err != nil {
		return nil, err
	}
	return newSource(c, t), nil
}

// NewSink implements connectors.Factory.
func (*Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	c, err := parse(t)
	if err != nil {
		return nil, err
	}
	if err := c.format.CheckSink(); err != nil {
		return nil, err
	}
	return newSink(c, t), nil
}

// ProducesUpdates implements connectors.ChangelogSourceFactory: a table
// read with a changelog format (debezium-json) emits -U/+U/-D rows.
func (*Factory) ProducesUpdates(t connectors.Table) bool {
	c, err := parse(t)
	return err == nil && c.format.Changelog()
}

// AcceptsUpdates implements connectors.UpdateSinkFactory: a changelog
// format writes -U/+U/-D rows as change events; every other format
// takes inserts only.
func (*Factory) AcceptsUpdates(t connectors.Table) bool {
	c, err := parse(t)
	return err == nil && c.format.Changelog()
}

var (
	_ connectors.Factory                = (*Factory)(nil)
	_ connectors.ChangelogSourceFactory = (*Factory)(nil)
	_ connectors.UpdateSinkFactory      = (*Factory)(nil)
)
