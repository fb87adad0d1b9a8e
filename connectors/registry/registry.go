// Package registry maps 'connector' option values to connector factories.
package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/blackhole"
	"github.com/streamsql/streamsql/connectors/datagen"
	"github.com/streamsql/streamsql/connectors/filesystem"
	"github.com/streamsql/streamsql/connectors/kafka"
	"github.com/streamsql/streamsql/connectors/nexmark"
	"github.com/streamsql/streamsql/connectors/postgres"
	"github.com/streamsql/streamsql/connectors/print"
)

// Registry holds the factories by name. It is built per session (no
// package-level state) and is read-only after New, so it is safe to share.
type Registry struct {
	byName map[string]connectors.Factory
	names  []string
}

// New returns a registry with every built-in connector.
func New() *Registry { return NewWith(Builtins()...) }

// Builtins returns a new factory of every built-in connector.
func Builtins() []connectors.Factory {
	return []connectors.Factory{blackhole.New(), datagen.New(), filesystem.New(), kafka.New(), kafka.NewUpsert(),
		nexmark.New(), postgres.New(), print.New()}
}

// NewWith returns a registry of the given factories (tests and embedders
// may add their own); a later factory with the same name replaces an
// earlier one.
func NewWith(factories ...connectors.Factory) *Registry {
	r := &Registry{byName: make(map[string]connectors.Factory, len(factories))}
	for _, f := range factories {
		r.byName[f.Name()] = f
	}
	for n := range r.byName {
		r.names = append(r.names, n)
	}
	sort.Strings(r.names)
	return r
}

// Lookup returns the factory for a 'connector' value.
func (r *Registry) Lookup(name string) (connectors.Factory, error) {
	if f, ok := r.byName[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("unknown connector '%s' (available: %s)", name, strings.Join(r.names, ", "))
}

// Names lists the connector names, sorted.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }
