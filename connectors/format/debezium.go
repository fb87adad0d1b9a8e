package format

import (
	"bytes"
	"fmt"

	"github.com/valyala/fastjson"

	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
)

// debezium-json: Debezium's change events as JSON, a changelog format.
// A record is an envelope {"before": row, "after": row, "op": ...} (under
// "payload" when the message includes its schema); rows are read and
// written as the json format does.

type debeziumOptions struct {
	schemaInclude bool
}

func parseDebeziumOptions(table, prefix string, own map[string]string) (debeziumOptions, jsonOptions, error) {
	var o debeziumOptions
	if err := checkKnown(table, prefix, own, "schema-include", "ignore-parse-errors", "timestamp-format.standard",
		"map-null-key.mode", "map-null-key.literal", "encode.decimal-as-plain-number", "encode.ignore-null-fields"); err != nil {
		return o, jsonOptions{}, err
	}
	rest := map[string]string{}
	for k, v := range own {
		if k == "schema-include" {
			var err error
			if o.schemaInclude, err = opts.Bool(table, prefix+k, v); err != nil {
				return o, jsonOptions{}, err
			}
			continue
		}
		rest[k] = v
	}
	jo, err := parseJSONOptions(table, prefix, rest)
	return o, jo, err
}

type debeziumDecoder struct {
	o      debeziumOptions
	parser fastjson.Parser
	row    *jsonDecoder
}

func debeziumErr(format string, args ...any) error {
	return &ParseError{Msg: "malformed Debezium JSON: " + fmt.Sprintf(format, args...)}
}

// Decode reads one change event: op "c" (create) and "r" (snapshot read)
// give +I of "after", "u" gives -U of "before" and +U of "after", "d" gives
// -D of "before". An empty record or a JSON null (a Kafka tombstone after
// a delete) gives no row.
func (d *debeziumDecoder) Decode(rec []byte, into *RowBuilder) error {
	if len(bytes.TrimSpace(rec)) == 0 {
		return nil
	}
	v, err := d.parser.ParseBytes(rec)
	if err != nil {
		return debeziumErr("%v", err)
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeObject:
	default:
		return debeziumErr("expected a JSON object, found %s", v.Type())
	}
	env := v
	if d.o.schemaInclude {
		env = v.Get("payload")
		if env == nil || env.Type() != fastjson.TypeObject {
			return debeziumErr(`the message has no "payload" object ('debezium-json.schema-include' is true)`)
		}
	} else if v.Get("op") == nil && v.Get("schema") != nil && v.Get("payload") != nil {
		return debeziumErr(`the message has "schema" and "payload" fields: set 'debezium-json.schema-include' = 'true' for messages that include their schema`)
	}
	opV := env.Get("op")
	if opV == nil {
		return debeziumErr(`the message has no "op" field`)
	}
	op, err := opV.StringBytes()
	if err != nil {
		return debeziumErr(`"op" is not a string`)
	}
	start := into.Len()
	switch string(op) {
	case "c", "r":
		err = d.emit(env, "after", op, batch.Insert, into)
	case "u":
		if err = d.emit(env, "before", op, batch.UpdateBefore, into); err == nil {
			err = d.emit(env, "after", op, batch.UpdateAfter, into)
		}
	case "d":
		err = d.emit(env, "before", op, batch.Delete, into)
	default:
		return debeziumErr(`unknown "op" value %q (expected c, r, u or d)`, op)
	}
	if err != nil {
		into.Truncate(start)
		return err
	}
	return nil
}

func (d *debeziumDecoder) emit(env *fastjson.Value, field string, op []byte, kind batch.RowKind, into *RowBuilder) error {
	v := env.Get(field)
	if v == nil || v.Type() == fastjson.TypeNull {
		msg := fmt.Sprintf(`"%s" is null in a message with "op" %q`, field, op)
		if field == "before" {
			msg += " (a Debezium PostgreSQL source needs REPLICA IDENTITY FULL on the table to send the old row)"
		}
		return debeziumErr("%s", msg)
	}
	obj, err := v.Object()
	if err != nil {
		return debeziumErr(`"%s" is not an object but %s`, field, v.Type())
	}
	if err := d.row.fill(obj, into); err != nil {
		into.DiscardRow()
		return fmt.Errorf(`"%s": %w`, field, err)
	}
	into.EndRowKind(kind)
	return nil
}

type debeziumEncoder struct {
	row *jsonEncoder
}

// Encode writes a change event as Flink does: +I and +U as
// {"before":null,"after":row,"op":"c"}, -U and -D as
// {"before":row,"after":null,"op":"d"} (an update becomes a delete of the
// old row and a create of the new one).
func (e *debeziumEncoder) Encode(dst []byte, b batch.Batch, row int) []byte {
	if b.Kind(row).IsRetract() {
		dst = append(dst, `{"before":`...)
		dst = e.row.Encode(dst, b, row)
		return append(dst, `,"after":null,"op":"d"}`...)
	}
	dst = append(dst, `{"before":null,"after":`...)
	dst = e.row.Encode(dst, b, row)
	return append(dst, `,"op":"c"}`...)
}
