package testinfra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// SecureKafka is the local broker's SASL_SSL listener as make test sets it up
// (deploy/local/kafka.sh): its address, the local CA, the SCRAM users' password files, and
// the topic prefix whose ACLs were granted for the tests.
type SecureKafka struct {
	Brokers     []string
	CAFile      string
	PasswordDir string
	Prefix      string // the ACLs cover Prefix.readings, Prefix.commands, …
}

// Secure returns the secured listener, failing the test when make test did not describe it
// (RIVERWATCH_TEST_KAFKA_SECURE_*) or it does not answer.
func Secure(t testing.TB) SecureKafka {
	t.Helper()
	Require(t)
	s := SecureKafka{
		Brokers:     strings.Split(os.Getenv("RIVERWATCH_TEST_KAFKA_SECURE_BROKERS"), ","),
		CAFile:      os.Getenv("RIVERWATCH_TEST_KAFKA_SECURE_CA_FILE"),
		PasswordDir: os.Getenv("RIVERWATCH_TEST_KAFKA_SECURE_PASSWORD_DIR"),
		Prefix:      os.Getenv("RIVERWATCH_TEST_KAFKA_SECURE_ACL_PREFIX"),
	}
	if s.Brokers[0] == "" || s.CAFile == "" || s.PasswordDir == "" || s.Prefix == "" {
		t.Fatal("RIVERWATCH_TEST_KAFKA_SECURE_{BROKERS,CA_FILE,PASSWORD_DIR,ACL_PREFIX} are not set: make test (deploy/local/test.sh) sets them after kafka.sh start and kafka.sh acls")
	}
	mustDial(t, "kafka (SASL_SSL)", s.Brokers[0])
	return s
}

// Kafka is the kafka section of user on the secured listener.
func (s SecureKafka) Kafka(user string) config.Kafka {
	k := config.Default().Kafka
	k.Brokers = s.Brokers
	k.TLS = config.TLS{Enabled: true, CAFile: s.CAFile}
	k.SASL = config.KafkaSASL{Mechanism: config.SASLScramSHA512, Username: user, PasswordFile: filepath.Join(s.PasswordDir, user)}
	return k
}

// Cluster is user's stream.Cluster on the secured listener.
func (s SecureKafka) Cluster(t testing.TB, user string) stream.Cluster {
	t.Helper()
	c, err := stream.NewCluster(s.Kafka(user))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
