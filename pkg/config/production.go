package config

import (
	"errors"
	"net"
	"strings"
)

// Modes of Config.Mode.
const (
	ModeProduction  = "production"
	ModeDevelopment = "development"
)

// DevelopmentWebhookSecret is responder.webhook_secret's default: public, for the local
// stack's webhook sink only. Production mode refuses it.
const DevelopmentWebhookSecret = "riverwatch-development-secret"

// Placeholder reports whether a secret is one of the repository's example placeholders
// (deploy/compose/env.example's change-me-…, deploy/kubernetes/secrets-example's
// REPLACE-ME-…): public, like the development defaults.
func Placeholder(secret string) bool {
	s := strings.ToLower(strings.TrimSpace(secret))
	return strings.HasPrefix(s, "replace-me") || strings.HasPrefix(s, "change-me")
}

// Services are the binaries production mode checks (pkg/service.Main runs Production for
// each); the simulator is a development tool and is not among them.
func Services() []string { return []string{"gateway", "assessor", "responder", "archiver", "api"} }

// Production returns every value of the sections a service uses that production mode
// refuses, each error naming its key and environment variable: a development default, an
// empty secret, or a private port on all interfaces. service "" checks every section. It
// judges the configuration only; pkg/service adds the refusals of the files it references
// (development tokens, station passwords).
//
// Each section states its own refusals (its production method) and its listeners
// (listeners), so that a key added to a section is checked where it is declared;
// TestEveryListenerIsJudgedInProduction and TestEverySecretIsJudgedInProduction fail when
// a listen, password or secret key escapes them.
func (c *Config) Production(service string) error {
	var v validator
	check := func(name string, sections ...func(*validator)) {
		if service != "" && service != name {
			return
		}
		for _, s := range sections {
			s(&v)
		}
	}
	check("gateway", c.Gateway.production, c.Kafka.production)
	check("assessor", c.Assessor.production, c.Kafka.production)
	check("responder", c.Responder.production, c.Kafka.production)
	check("archiver", c.Archiver.production, c.ClickHouse.production, c.Kafka.production)
	// The api reads with an account of its own (api.clickhouse_username, required): the
	// clickhouse section's password is the archiver's and the api needs none of it.
	check("api", c.API.production, c.Kafka.production)
	return dedup(v.errs)
}

// dedup joins errs, each once (ClickHouse is shared by two services).
func dedup(errs []error) error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// Listener is one address a service listens on.
type Listener struct {
	Key  string // the config key
	Addr string
	// Public listeners are meant for clients outside the host (stations, labs, the
	// dashboard); the others (ops ports, metrics) must not listen on all interfaces in
	// production.
	Public bool
}

// Listeners returns every listener of the production services' sections.
func (c *Config) Listeners() []Listener {
	return append(append(append(append(c.Gateway.listeners(), c.Assessor.listeners()...),
		c.Responder.listeners()...), c.Archiver.listeners()...), c.API.listeners()...)
}

// AllInterfaces reports whether a listen address binds every interface: an empty host,
// 0.0.0.0 or ::.
func AllInterfaces(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// private refuses a listener that is not public on all interfaces.
func (v *validator) private(l Listener) {
	if !l.Public && AllInterfaces(l.Addr) {
		v.add(l.Key, "%q listens on all interfaces; in production this port is not public: bind it to 127.0.0.1 or a private address", l.Addr)
	}
}

// metricsOffPublic refuses an empty metrics_listen of a public service (its /metrics would
// be served on the public port), and checks the listener like every private one.
func (v *validator) metricsOffPublic(section, listen, metrics string) {
	key := section + ".metrics_listen"
	if strings.TrimSpace(metrics) == "" {
		if AllInterfaces(listen) {
			v.add(key, "is empty, so /metrics is served on the public %s.listen %q; in production set a loopback or private address", section, listen)
		}
		return
	}
	v.private(Listener{Key: key, Addr: metrics})
}

func (g Gateway) listeners() []Listener {
	return []Listener{
		{Key: "gateway.listen", Addr: g.Listen, Public: true},
		{Key: "gateway.hj212_listen", Addr: g.HJ212Listen, Public: true},
		{Key: "gateway.metrics_listen", Addr: g.MetricsListen},
	}
}

func (g Gateway) production(v *validator) {
	v.metricsOffPublic("gateway", g.Listen, g.MetricsListen)
}

func (a Assessor) listeners() []Listener {
	return []Listener{{Key: "assessor.listen", Addr: a.Listen}}
}

func (a Assessor) production(v *validator) {
	for _, l := range a.listeners() {
		v.private(l)
	}
}

func (r Responder) listeners() []Listener {
	return []Listener{{Key: "responder.listen", Addr: r.Listen}}
}

func (r Responder) production(v *validator) {
	for _, l := range r.listeners() {
		v.private(l)
	}
	switch strings.TrimSpace(r.WebhookSecret) {
	case "":
		v.add("responder.webhook_secret", "is empty: webhooks would go unsigned; set a long random secret")
	case DevelopmentWebhookSecret:
		v.add("responder.webhook_secret", "is the public development secret; set a long random secret")
	default:
		if Placeholder(r.WebhookSecret) {
			v.add("responder.webhook_secret", "is a placeholder of the repository's examples; set a long random secret")
		}
	}
	if r.SMTPUsername != "" && r.SMTPPassword == "" {
		v.add("responder.smtp_password", "is empty while responder.smtp_username is set")
	}
	if Placeholder(r.SMTPPassword) {
		v.add("responder.smtp_password", "is a placeholder of the repository's examples")
	}
	// The search step's ranking reads the archive (docs/sources.md): with an account of its
	// own, read-only, as the api's; 0 s ranks nothing and needs none.
	if r.SourcesTimeout > 0 {
		switch {
		case strings.TrimSpace(r.ClickHouseUsername) == "":
			v.add("responder.clickhouse_username", "is empty: the responder would read ClickHouse with the archiver's account, which may write and drop; give it a read-only user (the api's riverwatch_api serves; docs/security.md), or set responder.sources_timeout to 0")
		case strings.TrimSpace(r.ClickHousePasswordFile) == "":
			v.add("responder.clickhouse_password_file", "is empty while responder.clickhouse_username is set")
		}
	}
}

func (a Archiver) listeners() []Listener {
	return []Listener{{Key: "archiver.listen", Addr: a.Listen}}
}

func (a Archiver) production(v *validator) {
	for _, l := range a.listeners() {
		v.private(l)
	}
}

func (a API) listeners() []Listener {
	return []Listener{
		{Key: "api.listen", Addr: a.Listen, Public: true},
		{Key: "api.metrics_listen", Addr: a.MetricsListen},
	}
}

func (a API) production(v *validator) {
	v.metricsOffPublic("api", a.Listen, a.MetricsListen)
	switch {
	case strings.TrimSpace(a.ClickHouseUsername) == "":
		v.add("api.clickhouse_username", "is empty: the api would read ClickHouse with the archiver's account, which may write and drop; give it a read-only user (readonly=1, query limits; docs/security.md)")
	case strings.TrimSpace(a.ClickHousePasswordFile) == "":
		v.add("api.clickhouse_password_file", "is empty while api.clickhouse_username is set")
	}
}

func (c ClickHouse) production(v *validator) {
	if c.Password == "" {
		v.add("clickhouse.password", "is empty; give riverwatch's ClickHouse user a password")
	}
	if Placeholder(c.Password) {
		v.add("clickhouse.password", "is a placeholder of the repository's examples; set the real password")
	}
}
