package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// SASL mechanisms the clients speak (kafka.sasl.mechanism). SCRAM only: PLAIN would send
// the password itself, and SCRAM is what Kafka's own tools create users for.
const (
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// TLS configures a client's TLS: to the Kafka brokers (kafka.tls, their SASL_SSL or SSL
// listener) or to ClickHouse's secure native port (clickhouse.tls).
type TLS struct {
	// Enabled turns TLS on; the other keys only refine it.
	Enabled bool `mapstructure:"enabled"`
	// CAFile is the PEM bundle that signs the servers' certificates; empty: the system's
	// roots.
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are a client certificate (PEM) for servers that ask for one
	// (Kafka's ssl.client.auth=required); both or neither.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// ServerName is the name checked in the servers' certificates when it is not the host
	// of the address dialled.
	ServerName string `mapstructure:"server_name"`
}

// KafkaSASL authenticates the client: each service has its own principal, and the
// brokers' ACLs say what that principal may read and write (docs/security.md).
type KafkaSASL struct {
	// Mechanism is SCRAM-SHA-512 or SCRAM-SHA-256; empty: no SASL.
	Mechanism string `mapstructure:"mechanism"`
	// Username is the service's principal (User:<username> in the ACLs).
	Username string `mapstructure:"username"`
	// PasswordFile holds the password (one line), so that it reaches neither the
	// configuration file nor the environment of the process.
	PasswordFile string `mapstructure:"password_file"`
}

// validate refuses half a client certificate, and TLS settings that would be ignored;
// section is the key they sit under (kafka.tls, clickhouse.tls).
func (t TLS) validate(v *validator, section string) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.add(section+".cert_file", "and %s.key_file go together: set both or neither", section)
	}
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.ServerName != "") {
		v.add(section+".enabled", "is false while other %s keys are set; set it to true, or remove them", section)
	}
}

// ClientConfig returns the crypto/tls configuration t describes, or nil when TLS is off.
// At least TLS 1.2; the servers' certificates are always verified.
func (t TLS) ClientConfig() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no PEM certificate in it", t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls cert_file/key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// ReadSecret returns the first line of a secret file (a password, a key), without its
// surrounding blanks; an empty one is refused. The error names the file, never its content.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if line = strings.TrimSpace(line); line == "" {
		return "", fmt.Errorf("secret file %s: empty", path)
	}
	return line, nil
}

func (s KafkaSASL) validate(v *validator) {
	if s.Mechanism == "" {
		if s.Username != "" || s.PasswordFile != "" {
			v.add("kafka.sasl.mechanism", "is empty while kafka.sasl.username or password_file is set; use %s or %s", SASLScramSHA512, SASLScramSHA256)
		}
		return
	}
	v.oneOf("kafka.sasl.mechanism", strings.ToUpper(s.Mechanism), SASLScramSHA512, SASLScramSHA256)
	v.nonEmpty("kafka.sasl.username", s.Username)
	v.nonEmpty("kafka.sasl.password_file", s.PasswordFile)
}

// production refuses a client the brokers cannot tell from anyone else: without SASL any
// host that reaches a broker could write readings or commands, and SCRAM without TLS
// leaves every record readable on the wire. kafka.unauthenticated says, explicitly, that
// the brokers are reachable only by riverwatch (a private network of its own).
func (k Kafka) production(v *validator) {
	if k.Unauthenticated {
		return
	}
	if k.SASL.Mechanism == "" {
		v.add("kafka.sasl.mechanism", "is empty: the brokers cannot tell this service from anyone who reaches them; give it its own SCRAM user (deploy/local/kafka.sh makes them), or set kafka.unauthenticated: true where only riverwatch reaches the brokers")
	}
	if !k.TLS.Enabled {
		v.add("kafka.tls.enabled", "is false: readings, commands and the SCRAM exchange would cross the network in clear; use the brokers' SASL_SSL listener, or set kafka.unauthenticated: true where only riverwatch reaches the brokers")
	}
}
