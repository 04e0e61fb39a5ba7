package notify

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
	"gopkg.in/yaml.v3"
)

// Notification channels.
const (
	ChannelWebhook  = "webhook"
	ChannelWeCom    = "wecom"
	ChannelDingTalk = "dingtalk"
	ChannelSMTP     = "smtp"
	// ChannelSMS sends a text message through the provider of the contacts file's sms
	// section; the target is a phone number.
	ChannelSMS = "sms"
)

var channels = []string{ChannelWebhook, ChannelWeCom, ChannelDingTalk, ChannelSMTP, ChannelSMS}

// Contact is one person or group reached on one channel.
type Contact struct {
	Name    string `yaml:"name" json:"name"`
	Channel string `yaml:"channel" json:"channel"`
	// Target is the URL of a webhook or group robot, an e-mail address, or a phone number
	// (sms: 11 digits, or + and the country code for a number abroad). An empty target
	// of an HTTP channel means the responder's default webhook (responder.webhook_url), so
	// that a development setup sends everything to one local sink.
	Target string `yaml:"target" json:"target"`
	// Secret signs what is sent: the HMAC key of a generic webhook (default
	// responder.webhook_secret) or a DingTalk robot's 加签 secret.
	Secret string `yaml:"secret" json:"-"`
}

// Contacts is the directory: jurisdiction × role → contacts. Its content can be replaced
// while it is in use (Replace: a reload on SIGHUP), so that every holder sees the new rota.
type Contacts struct {
	dir atomic.Pointer[directory]
}

// directory is one loaded contacts file.
type directory struct {
	roles map[string]string // role id → Chinese name
	byKey map[string][]Contact
	rotas map[string]*Rota // by the same key, for entries that have one
	loc   *time.Location   // the deployment's time zone, for the rotas
	sms   *SMSConfig       // the sms channel's provider account; nil: no sms contacts
	rates map[string]RateLimit
	// defaultWebhook replaced empty targets: one receiver (the development sink) standing
	// for many robots, so the robots' rate limits do not apply to it.
	defaultWebhook string
}

// Replace makes c answer with n's directory from now on (a reload validated by
// LoadContacts, and by whatever else must hold, before it is swapped in).
func (c *Contacts) Replace(n *Contacts) { c.dir.Store(n.dir.Load()) }

type contactsFile struct {
	Roles map[string]string `yaml:"roles"`
	// SMS is the provider account of the sms channel (docs/channels.md).
	SMS *SMSConfig `yaml:"sms"`
	// RateLimits, by channel, replace DefaultRateLimits of the channels they name.
	RateLimits map[string]RateLimit `yaml:"rate_limits"`
	Contacts   []struct {
		Jurisdiction string    `yaml:"jurisdiction"`
		Role         string    `yaml:"role"`
		People       []Contact `yaml:"people"`
		// Rota, optional, says who is on duty when; People are the default, told when
		// no shift covers the hour (docs/escalation.md).
		Rota *Rota `yaml:"rota"`
	} `yaml:"contacts"`
}

// LoadContacts reads and validates a contacts file. defaultWebhook replaces empty targets
// of HTTP channels.
func LoadContacts(path string, net *network.Network, defaultWebhook string) (*Contacts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contacts file: %w", err)
	}
	c, err := ParseContacts(data, net, defaultWebhook)
	if err != nil {
		return nil, fmt.Errorf("contacts file %s: %w", path, err)
	}
	return c, nil
}

// ParseContacts validates a contacts document; every problem names its line.
func ParseContacts(data []byte, net *network.Network, defaultWebhook string) (*Contacts, error) {
	var f contactsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	lines := yamlSeq(&root, "contacts")
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
	if len(f.Roles) == 0 {
		errs = append(errs, errors.New("roles: declare at least one role (id: Chinese name)"))
	}
	c := &directory{roles: f.Roles, byKey: map[string][]Contact{}, rotas: map[string]*Rota{}, loc: net.Location, sms: f.SMS, rates: DefaultRateLimits(), defaultWebhook: defaultWebhook}
	if f.SMS != nil {
		for _, bad := range f.SMS.validate() {
			errs = append(errs, errors.New(bad))
		}
	}
	rateChannels := make([]string, 0, len(f.RateLimits))
	for ch := range f.RateLimits {
		rateChannels = append(rateChannels, ch)
	}
	sort.Strings(rateChannels)
	for _, ch := range rateChannels {
		if !slices.Contains(channels, ch) {
			errs = append(errs, fmt.Errorf("rate_limits: channel %q is not one of %s", ch, strings.Join(channels, ", ")))
			continue
		}
		if err := f.RateLimits[ch].validate(); err != nil {
			errs = append(errs, fmt.Errorf("rate_limits: %s: %w", ch, err))
			continue
		}
		c.rates[ch] = f.RateLimits[ch]
	}
	smsUsed := false
	if c.loc == nil {
		c.loc = time.UTC
	}
	// checkPerson validates one contact and fills in the default webhook.
	checkPerson := func(line int, where string, p *Contact) bool {
		if p.Name == "" {
			fail(line, "%s: a contact has no name", where)
		}
		if !slices.Contains(channels, p.Channel) {
			fail(line, "%s: %s: channel %q is not one of %s", where, p.Name, p.Channel, strings.Join(channels, ", "))
			return false
		}
		if p.Channel == ChannelSMTP {
			if !strings.Contains(p.Target, "@") {
				fail(line, "%s: %s: smtp needs an e-mail address as target", where, p.Name)
			}
			return true
		}
		if p.Channel == ChannelSMS {
			smsUsed = true
			if !phoneRE.MatchString(p.Target) {
				fail(line, "%s: %s: sms needs a phone number as target (digits, + and the country code abroad)", where, p.Name)
			}
			return true
		}
		if p.Target == "" {
			p.Target = defaultWebhook
		}
		if u, err := url.Parse(p.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(line, "%s: %s: target %q is not an http(s) URL (and no default webhook is configured)", where, p.Name, p.Target)
		}
		return true
	}
	for i, e := range f.Contacts {
		line := 0
		if i < len(lines) {
			line = lines[i].Line
		}
		where := fmt.Sprintf("contacts of %s/%s", e.Jurisdiction, e.Role)
		if _, ok := net.Jurisdiction(e.Jurisdiction); !ok {
			fail(line, "%s: unknown jurisdiction %q", where, e.Jurisdiction)
		}
		if _, ok := f.Roles[e.Role]; !ok {
			fail(line, "%s: role %q is not declared in roles", where, e.Role)
		}
		if len(e.People) == 0 {
			fail(line, "%s: no people", where)
		}
		key := e.Jurisdiction + "/" + e.Role
		if _, dup := c.byKey[key]; dup {
			fail(line, "%s: listed twice", where)
		}
		for _, p := range e.People {
			if checkPerson(line, where, &p) {
				c.byKey[key] = append(c.byKey[key], p)
			}
		}
		if r := e.Rota; r != nil {
			for _, bad := range r.compile() {
				fail(line, "%s: %s", where, bad)
			}
			for k := range r.Shifts {
				sh := &r.Shifts[k]
				for m := range sh.People {
					checkPerson(line, fmt.Sprintf("%s: rota shift %d", where, k+1), &sh.People[m])
				}
			}
			c.rotas[key] = r
		}
	}
	if smsUsed && f.SMS == nil {
		errs = append(errs, errors.New("sms: contacts use the sms channel but the file has no sms section (the provider account)"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := &Contacts{}
	out.dir.Store(c)
	return out, nil
}

// For returns the default contacts of a role in a jurisdiction: its people, whoever the
// rota puts on duty (OnDuty).
func (c *Contacts) For(jurisdiction, role string) []Contact {
	return c.dir.Load().byKey[jurisdiction+"/"+role]
}

// OnDuty returns the contacts of a role in a jurisdiction to notify at a time: the people
// of the rota's shift that covers it, else the entry's people (For).
func (c *Contacts) OnDuty(jurisdiction, role string, at time.Time) []Contact {
	d := c.dir.Load()
	key := jurisdiction + "/" + role
	if on := d.rotas[key].OnDuty(at, d.loc); len(on) > 0 {
		return on
	}
	return d.byKey[key]
}

// HasRota reports whether a role in a jurisdiction has a duty rota.
func (c *Contacts) HasRota(jurisdiction, role string) bool {
	return c.dir.Load().rotas[jurisdiction+"/"+role] != nil
}

// all returns every contact of a role in a jurisdiction: its people, then every shift's.
func (d *directory) all(key string) []Contact {
	out := d.byKey[key]
	if r := d.rotas[key]; r != nil {
		out = slices.Clone(out)
		for _, s := range r.Shifts {
			out = append(out, s.People...)
		}
	}
	return out
}

// Find returns the contact of a role in a jurisdiction by name, among its people and its
// rota's.
func (c *Contacts) Find(jurisdiction, role, name string) (Contact, bool) {
	for _, p := range c.dir.Load().all(jurisdiction + "/" + role) {
		if p.Name == name {
			return p, true
		}
	}
	return Contact{}, false
}

// Lookup returns the contact of a role in a jurisdiction by name and channel, among its
// people and its rota's: the address of a queued notification is looked up by that key.
func (c *Contacts) Lookup(jurisdiction, role, name, channel string) (Contact, bool) {
	for _, p := range c.dir.Load().all(jurisdiction + "/" + role) {
		if p.Name == name && p.Channel == channel {
			return p, true
		}
	}
	return Contact{}, false
}

// HasRole reports whether a role is declared.
func (c *Contacts) HasRole(role string) bool {
	_, ok := c.dir.Load().roles[role]
	return ok
}

// RoleName returns the Chinese name of a role (the id when it has none).
func (c *Contacts) RoleName(role string) string {
	if n := c.dir.Load().roles[role]; n != "" {
		return n
	}
	return role
}

// SMS returns the sms channel's provider account (nil when the file has none).
func (c *Contacts) SMS() *SMSConfig { return c.dir.Load().sms }

// RateLimit returns the per-target limit of a channel (DefaultRateLimits, or the file's
// rate_limits) for a target address, and false for a channel without one. The default
// webhook, which empty targets were given, has none: it is one receiver (the development
// sink) standing for every robot whose target was left empty.
func (c *Contacts) RateLimit(channel, address string) (RateLimit, bool) {
	d := c.dir.Load()
	if d.defaultWebhook != "" && address == d.defaultWebhook {
		return RateLimit{}, false
	}
	r, ok := d.rates[channel]
	return r, ok
}

// RoleIDs returns the declared roles, sorted.
func (c *Contacts) RoleIDs() []string {
	roles := c.dir.Load().roles
	out := make([]string, 0, len(roles))
	for r := range roles {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// yamlSeq returns the items of the sequence under key in a document's top mapping, for the
// line numbers of errors.
func yamlSeq(doc *yaml.Node, key string) []*yaml.Node {
	m := doc
	if m != nil && m.Kind == yaml.DocumentNode && len(m.Content) > 0 {
		m = m.Content[0]
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1].Content
		}
	}
	return nil
}

// CheckOperators reports the emergency spaces of the network (sites.yaml) whose operator's
// role the directory does not declare: the interception recommendation names that desk,
// so it must be one the directory knows. The responder checks it where it loads both
// files; ParseContacts does not, so that a directory for other purposes (a test's, a
// bench's) still loads beside the repository's network.
func (c *Contacts) CheckOperators(net *network.Network) error {
	var errs []error
	for _, sp := range net.EmergencySpaces() {
		if role := sp.OperatedBy.Role; role != "" && !c.HasRole(role) {
			errs = append(errs, fmt.Errorf("sites.yaml river %q: emergency space %q: operated_by role %q is not declared in the contacts file's roles", sp.River, sp.ID, role))
		}
	}
	return errors.Join(errs...)
}
