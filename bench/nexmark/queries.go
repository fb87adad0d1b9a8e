// Package nexmark holds the Nexmark benchmark queries (q0.sql ... q22.sql)
// as streamsql runs them; `streamsql bench nexmark` embeds them from here.
// See README.md for the template scheme.
package nexmark

import "embed"

// Queries holds q0.sql ... q22.sql. It is read-only.
//
//go:embed q*.sql
var Queries embed.FS

// FlinkDDL is flink_ddl.sql: Flink's single nexmark table and its person,
// auction and bid views, which `streamsql bench nexmark --ddl flink` puts
// in place of each query's own per-kind tables. ${EVENTS} is a template
// field, as in the query files.
//
//go:embed flink_ddl.sql
var FlinkDDL string
