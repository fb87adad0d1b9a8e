package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

const versionUsage = `Usage: streamsql version

Prints the version of streamsql, the commit it was built from, and the Go
version.

Example:
  streamsql version
`

func (c *cli) version(args []string) int {
	fs := newCommand("streamsql version", versionUsage)
	rest, code, ok := c.parse(fs, args, true)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usageError(fs, fmt.Errorf("unexpected arguments %q", rest))
	}
	fmt.Fprintf(c.stdout, "streamsql %s (%s)\n", buildVersion(), runtime.Version())
	return exitOK
}

// buildVersion is the module version, or the VCS revision for a build from
// a checkout.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		v = "devel-" + rev[:min(12, len(rev))]
		if modified == "true" {
			v += "-dirty"
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}
