package format

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Decoder parses one record (a line of a file, a message value) into rows.
// On success it appends zero or more rows to into: one for most records,
// none for a record the format skips (a CSV comment, a Debezium tombstone),
// two for a changelog update (debezium-json: -U before, +U after). Rows of
// a changelog format carry their kind (RowBuilder.EndRowKind), so the
// batch Build returns has Kinds set when any row is not +I; such formats
// report (*Format).Changelog. On error into is left as it was (no row of
// the failed record remains). Errors say what is wrong with the record;
// the caller adds where it was (file and line, partition and offset).
// Decoders keep scratch state: use one per goroutine.
//
// Until the changelog formats, a decoder appended exactly one row or
// none: callers that counted on that must now count rows with
// RowBuilder.Len.
type Decoder interface {
	Decode(rec []byte, into *RowBuilder) error
}

// Encoder appends row `row` of b to dst, without a record separator.
type Encoder interface {
	Encode(dst []byte, b batch.Batch, row int) []byte
}

// Format is a validated row format with its options: csv, json, avro
// (single records; containers for files), avro-confluent (the Confluent
// Schema Registry wire format) or debezium-json (a changelog).
type Format struct {
	name   string
	table  string
	schema types.Schema
	csv    csvOptions
	json   jsonOptions
	avro   avroOptions
	dbz    debeziumOptions
	// avroSchema is the Avro schema derived from the table (avro,
	// avro-confluent); avroPlan decodes and encodes records of it.
	avroSchema string
	avroPlan   *avroPlan
	// reg is avro-confluent's schema registry client.
	reg *registry
}

// Names lists the supported format names.
func Names() []string { return []string{"csv", "json", "avro", "avro-confluent", "debezium-json"} }

// New validates the options of format name for a table with schema.
// options may hold other keys too: only those starting with "<name>." are
// the format's, and unknown ones among them fail as an
// *connectors.OptionError naming the key.
func New(table, name string, options map[string]string, schema types.Schema) (*Format, error) {
	return NewFor(table, name, options, schema, Target{})
}

// NewFor is New for a connector that knows where the records go: a Kafka
// connector passes the topic (and whether this is the key format), from
// which avro-confluent derives its default subject. A key format's
// options are passed without their "key." prefix.
func NewFor(table, name string, options map[string]string, schema types.Schema, target Target) (*Format, error) {
	f := &Format{name: name, table: table, schema: schema}
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
	case "avro":
		if f.avro, err = parseAvroOptions(table, prefix, own); err == nil {
			err = f.deriveAvro()
		}
	case "debezium-json":
		f.dbz, f.json, err = parseDebeziumOptions(table, prefix, own)
	case "avro-confluent":
		var co confluentOptions
		if co, f.avro, err = parseConfluentOptions(table, prefix, own, target); err == nil {
			err = f.deriveAvro()
			f.reg = &registry{o: co, f: f, client: &http.Client{Timeout: 30 * time.Second}, byID: map[uint32]idEntry{}}
		}
	default:
		return nil, opts.Errorf(table, "format", "unknown format '%s' (available: %s)", name, strings.Join(Names(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Format) deriveAvro() error {
	s, err := avroSchema(f.table, f.schema, f.avro.legacyTimestamps)
	if err != nil {
		return err
	}
	f.avroSchema, f.avroPlan = s, planFromTable(f.schema)
	return nil
}

// Name is the format name.
func (f *Format) Name() string { return f.name }

// Extension is the file name extension for part files, with the dot.
func (f *Format) Extension() string {
	if f.name == "debezium-json" {
		return ".json"
	}
	return "." + f.name
}

// IgnoreParseErrors reports whether records that fail to parse are to be
// skipped (counted by the caller) instead of failing the job. Only errors
// that are a *ParseError (errors.As) are the record's fault; others (an
// unreachable schema registry) fail the job regardless.
func (f *Format) IgnoreParseErrors() bool {
	switch f.name {
	case "csv":
		return f.csv.ignoreParseErrors
	case "avro", "avro-confluent":
		return f.avro.ignoreParseErrors
	}
	return f.json.ignoreParseErrors
}

// SkipFirstLine reports whether a file's first line is a header to skip
// (csv.ignore-first-line).
func (f *Format) SkipFirstLine() bool { return f.name == "csv" && f.csv.ignoreFirstLine }

// Changelog reports whether decoded rows may be updates and deletes
// (-U/+U/-D, as debezium-json gives), and whether the encoder writes such
// rows. An append-only format (every other one) encodes only +I rows:
// connectors refuse updating input for it.
func (f *Format) Changelog() bool { return f.name == "debezium-json" }

// Container reports whether files of this format are containers with a
// header and blocks of records (avro: Avro object container files), read
// with NewContainerReader and written with NewContainerWriter, rather
// than one record per line.
func (f *Format) Container() bool { return f.name == "avro" }

// AvroSchema is the Avro schema derived from the table (avro and
// avro-confluent; "" for other formats).
func (f *Format) AvroSchema() string { return f.avroSchema }

// CheckSink reports whether the format can write: some options are for
// reading only (debezium-json.schema-include). Sink factories call it in
// NewSink; the error is an *connectors.OptionError.
func (f *Format) CheckSink() error {
	if f.name == "debezium-json" && f.dbz.schemaInclude {
		return opts.Errorf(f.table, "debezium-json.schema-include", "not supported yet: writing Debezium messages with their schema (Flink does not either)")
	}
	return nil
}

// NewDecoder returns a decoder for the format's schema.
func (f *Format) NewDecoder() Decoder {
	switch f.name {
	case "csv":
		return newCSVDecoder(f.csv, f.schema)
	case "avro":
		return &avroDecoder{plan: f.avroPlan}
	case "debezium-json":
		return &debeziumDecoder{o: f.dbz, row: newJSONDecoder(f.json, f.schema)}
	case "avro-confluent":
		return &confluentDecoder{reg: f.reg}
	}
	return newJSONDecoder(f.json, f.schema)
}

// NewEncoder returns an encoder for the format's schema. avro-confluent
// must register its schema first and has no encoder without a context:
// NewEncoder returns nil for it; use OpenEncoder, which works for every
// format.
func (f *Format) NewEncoder() Encoder {
	switch f.name {
	case "csv":
		return newCSVEncoder(f.csv, f.schema)
	case "avro":
		return newAvroEncoder(f.avroPlan)
	case "debezium-json":
		return &debeziumEncoder{row: newJSONEncoder(f.json, f.schema)}
	case "avro-confluent":
		return nil
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
