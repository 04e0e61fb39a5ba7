package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKafkaSecurityKeysAreValidatedNamingTheKey(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Kafka)
		key    string // "" : valid
	}{
		{"SCRAM-SHA-512 with a user and a password file", func(k *Kafka) {
			k.SASL = KafkaSASL{Mechanism: "SCRAM-SHA-512", Username: "gateway", PasswordFile: "/p"}
		}, ""},
		{"a lower-case mechanism", func(k *Kafka) {
			k.SASL = KafkaSASL{Mechanism: "scram-sha-256", Username: "gateway", PasswordFile: "/p"}
		}, ""},
		{"PLAIN, which sends the password itself", func(k *Kafka) {
			k.SASL = KafkaSASL{Mechanism: "PLAIN", Username: "gateway", PasswordFile: "/p"}
		}, "kafka.sasl.mechanism"},
		{"a mechanism without a user", func(k *Kafka) { k.SASL = KafkaSASL{Mechanism: SASLScramSHA512, PasswordFile: "/p"} }, "kafka.sasl.username"},
		{"a mechanism without a password file", func(k *Kafka) { k.SASL = KafkaSASL{Mechanism: SASLScramSHA512, Username: "u"} }, "kafka.sasl.password_file"},
		{"a user without a mechanism", func(k *Kafka) { k.SASL = KafkaSASL{Username: "u"} }, "kafka.sasl.mechanism"},
		{"a client certificate without its key", func(k *Kafka) { k.TLS = TLS{Enabled: true, CertFile: "/c"} }, "kafka.tls.cert_file"},
		{"a CA while TLS is off", func(k *Kafka) { k.TLS = TLS{CAFile: "/ca"} }, "kafka.tls.enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := Default().Kafka
			tt.change(&k)
			err := k.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "config key "+tt.key+" ") {
				t.Fatalf("Validate = %v, want %s named", err, tt.key)
			}
		})
	}
}

func TestTLSClientConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := (TLS{}).ClientConfig(); c != nil || err != nil {
		t.Errorf("TLS off: %v, %v; want nil, nil", c, err)
	}
	c, err := TLS{Enabled: true, ServerName: "kafka.example"}.ClientConfig()
	if err != nil || c.ServerName != "kafka.example" || c.RootCAs != nil || c.InsecureSkipVerify {
		t.Errorf("system roots: %+v, %v", c, err)
	}
	if _, err := (TLS{Enabled: true, CAFile: notPEM}).ClientConfig(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
	if _, err := (TLS{Enabled: true, CAFile: filepath.Join(dir, "missing")}).ClientConfig(); err == nil {
		t.Error("a missing CA file accepted")
	}
}

func TestReadSecretReturnsTheFirstLineAndNeverTheContentInErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got, err := ReadSecret(write("pw", "  s3cret \nsecond line\n")); err != nil || got != "s3cret" {
		t.Errorf("ReadSecret = %q, %v; want s3cret", got, err)
	}
	if _, err := ReadSecret(write("empty", "\n\nlater")); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty first line: %v", err)
	}
}

func TestClickHousePasswordFileIsReadAtLoad(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "ch-password")
	if err := os.WriteFile(pw, []byte("from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvName("clickhouse.password_file"), pw)
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.ClickHouse.Password != "from-the-file" {
		t.Errorf("password %q, want the file's", c.ClickHouse.Password)
	}
	t.Setenv(EnvName("clickhouse.password"), "inline")
	if _, err := Load(""); err == nil || !strings.Contains(err.Error(), "config key clickhouse.password_file ") {
		t.Errorf("both set: %v", err)
	}
}
