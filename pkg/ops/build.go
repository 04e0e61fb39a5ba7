package ops

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version and revision are set at link time by the Makefile:
//
//	-ldflags "-X github.com/riverwatch/riverwatch/pkg/ops.version=v1.2.3 -X github.com/riverwatch/riverwatch/pkg/ops.revision=abc123"
//
// They are the only package-level variables: the linker can set nothing else.
var version, revision string

// Build describes the running binary.
type Build struct {
	Version   string // the release (-ldflags), else the module version, else "devel"
	Revision  string // the VCS commit (-ldflags, else the build's vcs.revision), "+dirty" when modified
	GoVersion string
}

// String is what -version prints.
func (b Build) String() string {
	return fmt.Sprintf("version %s, commit %s, %s", b.Version, b.Revision, b.GoVersion)
}

// ReadBuild returns the binary's build: what the linker set, else what the Go toolchain
// recorded (runtime/debug.ReadBuildInfo: module version, vcs.revision, vcs.modified).
func ReadBuild() Build {
	b := Build{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		if b.Revision == "" {
			var rev, dirty string
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					if s.Value == "true" {
						dirty = "+dirty"
					}
				}
			}
			if rev != "" {
				b.Revision = rev + dirty
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}

// newBuildInfo is riverwatch_build_info{version,revision,goversion} 1.
func newBuildInfo(b Build) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "riverwatch_build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return g
}
