package simulate

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

func repoNetwork(t testing.TB) *network.Network {
	t.Helper()
	net, err := network.Load(filepath.Join("..", "..", "..", "..", "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func repoScenario(t testing.TB, net *network.Network, name string) *Scenario {
	t.Helper()
	sc, err := LoadScenario(filepath.Join("..", "..", "..", "..", "configs", "scenarios", name+".yaml"), net)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func mustSite(t testing.TB, net *network.Network, id string) *network.Site {
	t.Helper()
	s, ok := net.Site(id)
	if !ok {
		t.Fatalf("site %s not in the network", id)
	}
	return s
}

// target returns what a site must meet, as the assessor judges it.
func target(t testing.TB, s *network.Site) standard.Target {
	t.Helper()
	tg := standard.Target{Kind: standard.SiteKind(s.Kind)}
	if s.IsLake() {
		tg.Body = standard.Lake
	}
	if s.TargetClass != "" {
		c, err := standard.ParseClass(s.TargetClass)
		if err != nil {
			t.Fatal(err)
		}
		tg.Class = c
	}
	if s.Kind == network.KindOutfall {
		var err error
		if s.Limits.Name != "" {
			tg.Permit, err = standard.PermitByName(s.Limits.Name, standard.PermitOptions{})
		} else {
			tg.Permit, err = standard.CustomPermit(s.Limits.Custom)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return tg
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
