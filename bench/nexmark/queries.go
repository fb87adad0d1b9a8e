// Package nexmark holds the Nexmark benchmark queries (q0.sql ... q22.sql)
// as streamsql runs them; `streamsql bench nexmark` embeds them from here.
// See README.md for the template scheme.
package nexmark

import "embed"

// Queries holds q0.sql ... q22.sql. It is read-only.
//
//go:embed q*.sql
var Queries embed.FS
