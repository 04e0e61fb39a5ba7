package stream

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Cluster is how a client reaches Kafka: the bootstrap brokers and, on a secured cluster,
// TLS and the SASL mechanism of the service's own principal. Every reader, writer,
// consumer and admin call of this package dials through it, so a secured cluster is
// configured once, in the kafka section, for all of them.
type Cluster struct {
	Brokers []string
	TLS     *tls.Config    // nil: plaintext
	SASL    sasl.Mechanism // nil: no authentication
}

// Plain is a Cluster of plaintext, unauthenticated brokers (development, tests).
func Plain(brokers ...string) Cluster { return Cluster{Brokers: brokers} }

// NewCluster returns the Cluster the kafka section describes: its CA and client
// certificate are read, and its SASL password file, once, here.
func NewCluster(k config.Kafka) (Cluster, error) {
	c := Cluster{Brokers: k.Brokers}
	t, err := k.TLS.ClientConfig()
	if err != nil {
		return Cluster{}, fmt.Errorf("config key kafka.tls: %w", err)
	}
	c.TLS = t
	if k.SASL.Mechanism == "" {
		return c, nil
	}
	password, err := config.ReadSecret(k.SASL.PasswordFile)
	if err != nil {
		return Cluster{}, fmt.Errorf("config key kafka.sasl.password_file: %w", err)
	}
	algo := scram.SHA512
	if strings.EqualFold(k.SASL.Mechanism, config.SASLScramSHA256) {
		algo = scram.SHA256
	}
	if c.SASL, err = scram.Mechanism(algo, k.SASL.Username, password); err != nil {
		return Cluster{}, fmt.Errorf("config key kafka.sasl: %w", err)
	}
	return c, nil
}

// Secured reports whether the Cluster authenticates (SASL) or encrypts (TLS).
func (c Cluster) Secured() bool { return c.TLS != nil || c.SASL != nil }

// dialer is what connections outside a Writer dial with: readers, consumer groups and the
// admin calls. Its zero timeout leaves the bound to the caller's context.
func (c Cluster) dialer() *kafka.Dialer {
	return &kafka.Dialer{DualStack: true, TLS: c.TLS, SASLMechanism: c.SASL}
}

// transport is a Writer's or Client's own, so that its idle connections close with it;
// nil on a plaintext cluster, where kafka-go's shared default serves.
func (c Cluster) transport() *kafka.Transport {
	if !c.Secured() {
		return nil
	}
	return &kafka.Transport{TLS: c.TLS, SASL: c.SASL}
}

// first is the broker admin calls start from.
func (c Cluster) first() (string, error) {
	if len(c.Brokers) == 0 {
		return "", fmt.Errorf("no kafka brokers")
	}
	return c.Brokers[0], nil
}
