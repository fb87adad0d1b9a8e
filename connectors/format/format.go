package format

import (
	"sort"
	"strings"

	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Decoder parses one record (a line of a file, a message value) into a row.
// On success it appends exactly one row to into, or none for a record the
// format skips (a CSV comment); on error into is left as it was. Decoders
// keep scratch state: use one per goroutine.
type Decoder interface {
	Decode(rec []byte, into *RowBuilder) error
}

// Encoder appends row `row` of b to dst, without a record separator.
type Encoder interface {
	Encode(dst []byte, b batch.Batch, row int) []byte
}

// Format is a validated row format ('csv' or 'json') with its options.
type Format struct {
	name   string
	schema types.Schema
	csv    csvOptions
	json   jsonOptions
}

// Names lists the supported format names.
func Names() []string { return []string{"csv", "json"} }

// New validates the options of format name for a table with schema.
// options may hold other keys too: only those starting with "<name>." are
// the format's, and unknown ones among them fail as an
// *connectors.OptionError naming the key.
func New(table, name string, options map[string]string, schema types.Schema) (*Format, error) {
	f := &Format{name: name, schema: schema}
	own := map[string]string{}
	prefix := name + "."
	for k, v := range options {
		if strings.HasPrefix(k, prefix) {
			own[strings.TrimPrefix(k, prefix)] = v
		}
	}
	var err error
	switch name {
	case "csv":
		f.csv, err = parseCSVOptions(table, prefix, own)
	case "json":
		f.json, err = parseJSONOptions(table, prefix, own)
	default:
		return nil, opts.Errorf(table, "format", "unknown format '%s' (available: %s)", name, strings.Join(Names(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Name is the format name.
func (f *Format) Name() string { return f.name }

// Extension is the file name extension for part files, with the dot.
func (f *Format) Extension() string { return "." + f.name }

// IgnoreParseErrors reports whether records that fail to parse are to be
// skipped (counted by the caller) instead of failing the job.
func (f *Format) IgnoreParseErrors() bool {
	if f.name == "csv" {
		return f.csv.ignoreParseErrors
	}
	return f.json.ignoreParseErrors
}

// SkipFirstLine reports whether a file's first line is a header to skip
// (csv.ignore-first-line).
func (f *Format) SkipFirstLine() bool { return f.name == "csv" && f.csv.ignoreFirstLine }

// NewDecoder returns a decoder for the format's schema.
func (f *Format) NewDecoder() Decoder {
	if f.name == "csv" {
		return newCSVDecoder(f.csv, f.schema)
	}
	return newJSONDecoder(f.json, f.schema)
}

// NewEncoder returns an encoder for the format's schema.
func (f *Format) NewEncoder() Encoder {
	if f.name == "csv" {
		return newCSVEncoder(f.csv, f.schema)
	}
	return newJSONEncoder(f.json, f.schema)
}

// checkKnown fails on the first (sorted) key not in known.
func checkKnown(table, prefix string, own map[string]string, known ...string) error {
	keys := make([]string, 0, len(own))
	for k := range own {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		found := false
		for _, kn := range known {
			if k == kn {
				found = true
			}
		}
		if !found {
			return opts.Unknown(table, prefix+k)
		}
	}
	return nil
}
