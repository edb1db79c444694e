package main

import (
	"fmt"
	"runtime/debug"
)

// buildInfo is what the binary knows of its own build: the module version, and the commit and
// whether the tree had uncommitted changes when the go command stamped them (a build from a git
// checkout; see the README's build command).
type buildInfo struct {
	Version  string
	Commit   string // "" when the build carried no VCS stamp (go run, -buildvcs=false)
	Modified bool
	Go       string
}

func readBuildInfo() buildInfo {
	bi := buildInfo{Version: "(unknown)"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	bi.Version, bi.Go = info.Main.Version, info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		}
	}
	return bi
}

// commitText is the commit for a person: the hash, marked when the tree was modified.
func (bi buildInfo) commitText() string {
	switch {
	case bi.Commit == "":
		return "unknown (built without VCS information)"
	case bi.Modified:
		return bi.Commit + " (modified)"
	}
	return bi.Commit
}

// buildVersion is the line -version prints.
func buildVersion() string {
	bi := readBuildInfo()
	return fmt.Sprintf("syncd %s, commit %s, %s", bi.Version, bi.commitText(), bi.Go)
}

// short is the version for a log field or a status line: version and the commit's first 12
// characters.
func (bi buildInfo) short() string {
	commit := bi.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	switch {
	case commit == "":
		return bi.Version
	case bi.Modified:
		return bi.Version + " " + commit + "+modified"
	}
	return bi.Version + " " + commit
}
