package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/sql/types"
)

// target is the PostgreSQL table a sink writes, as Open found it, with the
// statements that write it.
type target struct {
	name    string   // quoted and schema-qualified as the server prints the regclass
	columns []string // quoted target column of each schema field
	raw     []string // the same, unquoted
	keyCols []string // quoted target columns of the primary key
	keyRaw  []string // their names as the server spells them

	copySQL   string // COPY into the table itself (no key)
	stageDDL  string // temporary staging tables (keyed)
	copyStage string
	copyDel   string
	upsertSQL string
	deleteSQL string
}

// pgColumn is a column of the target table.
type pgColumn struct {
	name      string
	typ       string // format_type, for messages
	base      string // pg_type.typname of the (domain's base) type
	notNull   bool
	generated bool
	hasDef    bool
}

// acceptedTypes lists the PostgreSQL types (pg_type.typname) a column of
// each logical type may be written to: the type itself and wider ones the
// COPY text form parses into.
var acceptedTypes = map[types.Kind][]string{
	types.Boolean:      {"bool"},
	types.Int:          {"int4", "int8", "numeric"},
	types.BigInt:       {"int8", "numeric"},
	types.Double:       {"float8", "numeric"},
	types.Decimal:      {"numeric"},
	types.String:       {"text", "varchar", "bpchar", "json", "jsonb", "uuid", "citext", "name"},
	types.Date:         {"date"},
	types.Timestamp:    {"timestamp"},
	types.TimestampLTZ: {"timestamptz"},
	types.Interval:     {"interval"},
}

// inspect checks that the target table exists with a column for every
// field of the schema (matched by name, exactly or else ignoring case) of
// a compatible type, that its other columns can be left out, and, for an
// upsert sink, that the primary key columns carry a unique constraint.
func inspect(ctx context.Context, conn *pgx.Conn, c *config) (*target, error) {
	var name *string
	var relkind string
	err := conn.QueryRow(ctx, `SELECT c.oid::regclass::text, c.relkind::text FROM pg_class c WHERE c.oid = to_regclass($1)`, c.target).Scan(&name, &relkind)
	if err == pgx.ErrNoRows || err == nil && name == nil {
		return nil, fmt.Errorf("table '%s' does not exist in the database (create it first: the sink does not create tables)", c.target)
	}
	if err != nil {
		return nil, fmt.Errorf("look up table '%s': %w", c.target, err)
	}
	if relkind != "r" && relkind != "p" {
		return nil, fmt.Errorf("'%s' is not a table (relkind %s)", *name, relkind)
	}
	rows, err := conn.Query(ctx, `
SELECT a.attname, format_type(a.atttypid, a.atttypmod),
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END,
       a.attnotnull, a.attgenerated <> '', a.atthasdef OR a.attidentity <> ''
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, c.target)
	if err != nil {
		return nil, fmt.Errorf("read the columns of '%s': %w", *name, err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgColumn, error) {
		var p pgColumn
		err := r.Scan(&p.name, &p.typ, &p.base, &p.notNull, &p.generated, &p.hasDef)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the columns of '%s': %w", *name, err)
	}
	tg := &target{name: *name}
	used := make([]bool, len(cols))
	var problems []string
	for _, f := range c.schema.Fields {
		i := slices.IndexFunc(cols, func(p pgColumn) bool { return p.name == f.Name })
		if i < 0 {
			i = slices.IndexFunc(cols, func(p pgColumn) bool { return strings.EqualFold(p.name, f.Name) })
		}
		if i < 0 {
			problems = append(problems, fmt.Sprintf("column '%s' does not exist", f.Name))
			continue
		}
		p := cols[i]
		used[i] = true
		switch {
		case p.generated:
			problems = append(problems, fmt.Sprintf("column '%s' is a generated column and cannot be written", p.name))
		case !slices.Contains(acceptedTypes[f.Type.Kind], p.base):
			problems = append(problems, fmt.Sprintf("column '%s' has type %s, which cannot hold %s (expected %s)",
				p.name, p.typ, f.Type.WithNotNull(false), strings.Join(pgTypeNames(f.Type.Kind), " or ")))
		}
		tg.columns = append(tg.columns, pgx.Identifier{p.name}.Sanitize())
		tg.raw = append(tg.raw, p.name)
	}
	for i, p := range cols {
		if !used[i] && p.notNull && !p.hasDef && !p.generated {
			problems = append(problems, fmt.Sprintf("column '%s' is NOT NULL without a default but the Flink table has no such column", p.name))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("table %s does not fit the Flink table: %s", tg.name, strings.Join(problems, "; "))
	}
	for _, k := range c.pk {
		tg.keyCols = append(tg.keyCols, tg.columns[k])
		tg.keyRaw = append(tg.keyRaw, tg.raw[k])
	}
	if len(c.pk) > 0 {
		if err := checkUnique(ctx, conn, c.target, tg); err != nil {
			return nil, err
		}
	}
	tg.build()
	return tg, nil
}

// pgTypeNames renders acceptedTypes for messages.
func pgTypeNames(k types.Kind) []string {
	names := map[string]string{"bool": "boolean", "int4": "integer", "int8": "bigint", "float8": "double precision",
		"bpchar": "character", "varchar": "character varying", "timestamp": "timestamp without time zone",
		"timestamptz": "timestamp with time zone"}
	var out []string
	for _, t := range acceptedTypes[k] {
		if n, ok := names[t]; ok {
			t = n
		}
		out = append(out, t)
	}
	return out
}

// checkUnique finds a unique, non-partial, immediate index (a primary key
// or unique constraint) whose key columns are exactly the primary key's:
// INSERT ... ON CONFLICT (pk) needs one as its arbiter.
func checkUnique(ctx context.Context, conn *pgx.Conn, table string, tg *target) error {
	rows, err := conn.Query(ctx, `
SELECT array_agg(a.attname::text ORDER BY a.attname)
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
  AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL
GROUP BY i.indexrelid`, table)
	if err != nil {
		return fmt.Errorf("read the unique indexes of %s: %w", tg.name, err)
	}
	sets, err := pgx.CollectRows(rows, pgx.RowTo[[]string])
	if err != nil {
		return fmt.Errorf("read the unique indexes of %s: %w", tg.name, err)
	}
	want := slices.Clone(tg.keyRaw)
	slices.Sort(want)
	for _, s := range sets {
		slices.Sort(s)
		if slices.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("table %s has no PRIMARY KEY or UNIQUE constraint on (%s), the Flink table's primary key: an upsert needs one (ALTER TABLE %s ADD PRIMARY KEY (%s))",
		tg.name, strings.Join(tg.keyRaw, ", "), tg.name, strings.Join(tg.keyCols, ", "))
}

// The staging tables are temporary (private to the connection, dropped
// with it) and emptied at every commit.
const (
	stageTable = "streamsql_stage"
	delTable   = "streamsql_stage_del"
)

func (tg *target) build() {
	cols := strings.Join(tg.columns, ", ")
	tg.copySQL = "COPY " + tg.name + " (" + cols + ") FROM STDIN"
	if len(tg.keyCols) == 0 {
		return
	}
	keys := strings.Join(tg.keyCols, ", ")
	tg.stageDDL = "DROP TABLE IF EXISTS pg_temp." + stageTable + ", pg_temp." + delTable + ";\n" +
		"CREATE TEMPORARY TABLE " + stageTable + " ON COMMIT DELETE ROWS AS SELECT " + cols + " FROM " + tg.name + " WITH NO DATA;\n" +
		"CREATE TEMPORARY TABLE " + delTable + " ON COMMIT DELETE ROWS AS SELECT " + keys + " FROM " + tg.name + " WITH NO DATA"
	tg.copyStage = "COPY pg_temp." + stageTable + " (" + cols + ") FROM STDIN"
	tg.copyDel = "COPY pg_temp." + delTable + " (" + keys + ") FROM STDIN"
	var set []string
	for _, c := range tg.columns {
		if !slices.Contains(tg.keyCols, c) {
			set = append(set, c+" = EXCLUDED."+c)
		}
	}
	action := "DO NOTHING"
	if len(set) > 0 {
		action = "DO UPDATE SET " + strings.Join(set, ", ")
	}
	tg.upsertSQL = "INSERT INTO " + tg.name + " AS t (" + cols + ") SELECT " + cols + " FROM pg_temp." + stageTable +
		" ON CONFLICT (" + keys + ") " + action
	var match []string
	for _, k := range tg.keyCols {
		match = append(match, "t."+k+" = d."+k)
	}
	tg.deleteSQL = "DELETE FROM " + tg.name + " AS t USING pg_temp." + delTable + " AS d WHERE " + strings.Join(match, " AND ")
}
