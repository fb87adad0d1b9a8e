// Package postgres implements a 'postgres' sink: rows of a Flink SQL table
// written into an existing PostgreSQL table with github.com/jackc/pgx/v5.
//
// With a PRIMARY KEY the sink upserts (INSERT ... ON CONFLICT (pk) DO
// UPDATE) and deletes (-D; -U rows are skipped, as Flink's JDBC upsert sink
// does); without one it appends (plain inserts) and accepts insert-only
// input. Rows are buffered and written in batches: each flush COPYs the
// batch (reduced to the last row per key) into a temporary staging table
// and applies it with one INSERT ... SELECT ... ON CONFLICT and one
// DELETE ... USING, in one transaction (see README.md for the figures
// behind that choice).
//
// Delivery guarantees ('sink.delivery-guarantee'): 'at-least-once' (the
// default) flushes at every checkpoint barrier; 'exactly-once' makes the
// sink a two-phase-commit sink whose pre-committed batch travels in the
// checkpoint and is applied when the checkpoint completes, in a
// transaction that also advances a row of the progress table
// streamsql_sink_progress, so that no checkpoint is applied twice; 'none'
// flushes by size and time only.
package postgres

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/sql/types"
)

// Defaults of the sink options.
const (
	// defaultMaxRows deviates from Flink's JDBC default of 100 rows: a
	// flush costs about a millisecond of round trips and a transaction
	// commit, so 100-row flushes would cap the sink far below its COPY
	// speed (README.md has the figures).
	defaultMaxRows    = 10000
	defaultInterval   = time.Second
	defaultMaxRetries = 3
	// ProgressTable records, per sink instance (epoch) and subtask, the
	// last checkpoint an exactly-once sink applied.
	ProgressTable = "streamsql_sink_progress"
)

// Delivery is a value of 'sink.delivery-guarantee'.
type Delivery int

const (
	AtLeastOnce Delivery = iota
	ExactlyOnce
	None
)

func (d Delivery) String() string {
	switch d {
	case ExactlyOnce:
		return "exactly-once"
	case None:
		return "none"
	}
	return "at-least-once"
}

// Factory creates postgres sinks.
type Factory struct{}

// New returns the postgres factory.
func New() *Factory { return &Factory{} }

// Name implements connectors.Factory.
func (*Factory) Name() string { return "postgres" }

// config is a validated postgres table.
type config struct {
	table      string // the catalog table's name, for messages
	connString string // for pgx.ParseConfig, credentials applied
	display    string // the URL without the password, for messages
	target     string // 'table-name' as written
	schema     types.Schema
	pk         []int // key column positions in schema
	maxRows    int
	interval   time.Duration
	maxRetries int
	delivery   Delivery
}

func parse(t connectors.Table) (*config, error) {
	c := &config{table: t.Name, schema: t.Schema, maxRows: defaultMaxRows, interval: defaultInterval,
		maxRetries: defaultMaxRetries, delivery: AtLeastOnce}
	rawURL, ok := t.Options["url"]
	if !ok || strings.TrimSpace(rawURL) == "" {
		return nil, opts.Errorf(t.Name, "url", "required option is missing (postgres://host:port/db or jdbc:postgresql://host:port/db)")
	}
	if c.target, ok = t.Options["table-name"]; !ok || strings.TrimSpace(c.target) == "" {
		return nil, opts.Errorf(t.Name, "table-name", "required option is missing")
	}
	if err := validTableName(c.target); err != nil {
		return nil, opts.Errorf(t.Name, "table-name", "%v", err)
	}
	var err error
	for _, k := range opts.SortedKeys(t.Options) {
		v := t.Options[k]
		switch k {
		case "url", "table-name", "username", "password":
		case "driver":
			if v != "org.postgresql.Driver" {
				err = opts.Errorf(t.Name, k, "only 'org.postgresql.Driver' is supported, got '%s'", v)
			}
		case "sink.buffer-flush.max-rows":
			var n int64
			if n, err = opts.Int64(t.Name, k, v); err == nil && (n < 0 || n > 1<<30) {
				err = opts.Errorf(t.Name, k, "must be between 0 and %d, got %d", 1<<30, n)
			}
			c.maxRows = int(n)
		case "sink.buffer-flush.interval":
			c.interval, err = opts.Duration(t.Name, k, v)
		case "sink.max-retries":
			var n int64
			if n, err = opts.Int64(t.Name, k, v); err == nil && (n < 0 || n > 100) {
				err = opts.Errorf(t.Name, k, "must be between 0 and 100, got %d", n)
			}
			c.maxRetries = int(n)
		case "sink.delivery-guarantee":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "at-least-once":
				c.delivery = AtLeastOnce
			case "exactly-once":
				c.delivery = ExactlyOnce
			case "none":
				c.delivery = None
			default:
				err = opts.Errorf(t.Name, k, "invalid value '%s' (expected at-least-once, exactly-once or none)", v)
			}
		case "sink.parallelism", "connection.max-retry-timeout":
			err = opts.NotSupported(t.Name, k)
		default:
			if strings.HasPrefix(k, "scan.") || strings.HasPrefix(k, "lookup.") {
				err = opts.Errorf(t.Name, k, "not supported yet: option '%s' (the postgres connector is a sink only)", k)
			} else {
				err = opts.Unknown(t.Name, k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if c.connString, c.display, err = connString(t.Name, rawURL, t.Options["username"], t.Options["password"]); err != nil {
		return nil, err
	}
	for _, name := range t.PrimaryKey {
		i := t.Schema.Index(name)
		if i < 0 {
			return nil, fmt.Errorf("table '%s': primary key column '%s' is not a physical column", t.Name, name)
		}
		c.pk = append(c.pk, i)
	}
	for _, f := range t.Schema.Fields {
		if f.Type.Kind == types.Null {
			return nil, fmt.Errorf("table '%s': column '%s': type %s cannot be written to PostgreSQL", t.Name, f.Name, f.Type)
		}
	}
	return c, nil
}

// validTableName accepts 'table' or 'schema.table', each part an SQL
// identifier, unquoted (folded to lower case by PostgreSQL, as Flink's JDBC
// connector leaves them) or double-quoted.
func validTableName(s string) error {
	parts := 0
	for i := 0; i < len(s); {
		if s[i] == '"' {
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) || j == i+1 {
				return fmt.Errorf("invalid table name '%s': unterminated or empty quoted identifier", s)
			}
			i = j + 1
		} else {
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || s[j] >= 0x80 ||
				s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j == i || s[i] >= '0' && s[i] <= '9' || s[i] == '$' {
				return fmt.Errorf("invalid table name '%s' (expected table or schema.table)", s)
			}
			i = j
		}
		parts++
		if i < len(s) {
			if s[i] != '.' || i+1 == len(s) {
				return fmt.Errorf("invalid table name '%s' (expected table or schema.table)", s)
			}
			i++
		}
	}
	if parts > 2 {
		return fmt.Errorf("invalid table name '%s' (expected table or schema.table)", s)
	}
	return nil
}

// jdbcParams maps the PostgreSQL JDBC driver's URL parameters to libpq's.
var jdbcParams = map[string]string{
	"user": "user", "password": "password", "sslmode": "sslmode", "currentSchema": "search_path",
	"connectTimeout": "connect_timeout", "ApplicationName": "application_name", "applicationName": "application_name",
	"sslrootcert": "sslrootcert", "sslcert": "sslcert", "sslkey": "sslkey", "options": "options",
}

// connString turns 'url' (postgres://, postgresql:// or Flink's
// jdbc:postgresql://host:port/db) plus 'username' and 'password' into a
// pgx connection string, and a form without the password for messages.
func connString(table, raw, user, password string) (conn, display string, err error) {
	raw = strings.TrimSpace(raw)
	jdbc := false
	if rest, ok := strings.CutPrefix(raw, "jdbc:"); ok {
		if !strings.HasPrefix(rest, "postgresql://") {
			return "", "", opts.Errorf(table, "url", "only jdbc:postgresql:// URLs are supported, got '%s'", redact(raw))
		}
		raw, jdbc = rest, true
	}
	u, perr := url.Parse(raw)
	if perr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", opts.Errorf(table, "url", "invalid URL '%s' (expected postgres://host:port/db or jdbc:postgresql://host:port/db)", redact(raw))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return "", "", opts.Errorf(table, "url", "the URL '%s' names no host", redact(raw))
	}
	if jdbc {
		q := url.Values{}
		for k, vs := range u.Query() {
			v := vs[len(vs)-1]
			switch {
			case k == "ssl":
				if b, _ := strconv.ParseBool(v); b && u.Query().Get("sslmode") == "" {
					q.Set("sslmode", "require")
				} else if !b {
					q.Set("sslmode", "disable")
				}
			case jdbcParams[k] != "":
				q.Set(jdbcParams[k], v)
			default:
				return "", "", opts.Errorf(table, "url", "not supported yet: JDBC URL parameter '%s'", k)
			}
		}
		u.RawQuery = q.Encode()
	}
	if user != "" || password != "" {
		name := user
		if name == "" && u.User != nil {
			name = u.User.Username()
		}
		if password != "" {
			u.User = url.UserPassword(name, password)
		} else if old, ok := u.User.Password(); ok && u.User != nil {
			u.User = url.UserPassword(name, old)
		} else {
			u.User = url.User(name)
		}
		q := u.Query()
		if user != "" {
			q.Del("user")
		}
		if password != "" {
			q.Del("password")
		}
		u.RawQuery = q.Encode()
	}
	conn = u.String()
	if _, perr := pgx.ParseConfig(conn); perr != nil {
		return "", "", opts.Errorf(table, "url", "invalid URL '%s': %v", redact(conn), perr)
	}
	return conn, redact(conn), nil
}

// redact removes the password from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Validate implements connectors.Factory. It does not connect: the
// database is checked when the sink opens.
func (*Factory) Validate(t connectors.Table) error {
	_, err := parse(t)
	return err
}

// NewSource implements connectors.Factory: reading is not supported.
func (*Factory) NewSource(t connectors.Table) (connectors.Source, error) {
	return nil, fmt.Errorf("table '%s': not supported yet: reading from the postgres connector (it is a sink only)", t.Name)
}

// NewSink implements connectors.Factory. The sink's type follows
// 'sink.delivery-guarantee': a connectors.TransactionalSink for
// exactly-once, a connectors.FlushingSink for at-least-once.
func (*Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	c, err := parse(t)
	if err != nil {
		return nil, err
	}
	s := newSink(c, t.Env)
	switch c.delivery {
	case ExactlyOnce:
		return &txSink{sink: s}, nil
	case None:
		return &plainSink{sink: s}, nil
	}
	return &flushingSink{sink: s}, nil
}

// AcceptsUpdates implements connectors.UpdateSinkFactory: a table with a
// primary key takes updates and deletes (upserts by the key); one without
// takes inserts only.
func (*Factory) AcceptsUpdates(t connectors.Table) bool { return len(t.PrimaryKey) > 0 }

var (
	_ connectors.Factory           = (*Factory)(nil)
	_ connectors.UpdateSinkFactory = (*Factory)(nil)
)
