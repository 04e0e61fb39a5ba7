package stream_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// The local broker's SASL_SSL listener, with the users and ACLs deploy/local/kafka.sh makes,
// lets each service's principal do its part and nothing else, and lets nobody in without
// credentials (H4).
func TestTheSecuredListenerLetsEachPrincipalDoOnlyItsPart(t *testing.T) {
	sec := testinfra.Secure(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	readings, commands := sec.Prefix+".readings", sec.Prefix+".commands"
	admin := sec.Cluster(t, "admin")
	if err := stream.EnsureTopics(ctx, admin,
		stream.TopicSpec{Name: readings, Partitions: 1}, stream.TopicSpec{Name: commands, Partitions: 1}); err != nil {
		t.Fatalf("admin creates the topics: %v", err)
	}

	t.Run("nobody gets in without credentials", func(t *testing.T) {
		k := sec.Kafka("gateway")
		noSASL := k
		noSASL.SASL = config.KafkaSASL{}
		wrong := k
		wrong.SASL.PasswordFile = filepath.Join(t.TempDir(), "wrong")
		if err := os.WriteFile(wrong.SASL.PasswordFile, []byte("not-the-password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		unverified := k
		unverified.TLS.CAFile = "" // the system's roots do not know the local CA
		for name, kc := range map[string]config.Kafka{
			"TLS without SASL": noSASL, "a wrong password": wrong, "a broker certificate nobody vouched for": unverified,
		} {
			cl, err := stream.NewCluster(kc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := partitions(ctx, cl, readings); err == nil {
				t.Errorf("%s: the metadata of %s was served", name, readings)
			}
		}
		if _, err := partitions(ctx, stream.Plain(sec.Brokers...), readings); err == nil {
			t.Error("plaintext on the SASL_SSL port: served")
		}
	})

	gateway, api, archiver := sec.Cluster(t, "gateway"), sec.Cluster(t, "api"), sec.Cluster(t, "archiver")
	_, end, err := stream.Bounds(ctx, archiver, readings, 0)
	if err != nil {
		t.Fatalf("the archiver may read %s: %v", readings, err)
	}
	mark := "reading-" + testinfra.Name(t)
	tests := []struct {
		name    string
		cl      stream.Cluster
		topic   string
		allowed bool
	}{
		{"the gateway writes readings", gateway, readings, true},
		{"the api writes commands", api, commands, true},
		{"the api may not write readings", api, readings, false},
		{"the gateway may not write commands", gateway, commands, false},
		{"the archiver may not write readings", archiver, readings, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := stream.NewWriter(stream.WriterConfig{Cluster: tt.cl, Topic: tt.topic}, nil)
			defer w.Close()
			pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			err := w.Publish(pctx, kafka.Message{Key: []byte("k"), Value: []byte(mark)})
			switch {
			case tt.allowed && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.allowed && err == nil:
				t.Fatal("accepted")
			case !tt.allowed && !refusedByACL(err):
				t.Fatalf("refused, but not by the ACLs: %v", err)
			}
		})
	}
	if _, err := partitions(ctx, gateway, commands); err == nil {
		t.Error("the gateway may see the commands topic")
	}
	// What the gateway wrote is what the archiver reads, and only that.
	var got []string
	err = stream.ReadPartition(ctx, stream.ReaderConfig{Cluster: archiver, Idle: 10 * time.Second}, readings, 0, end, end+1,
		func(m kafka.Message) error { got = append(got, string(m.Value)); return nil })
	if err != nil || len(got) != 1 || got[0] != mark {
		t.Errorf("the archiver read %q (err %v), want the gateway's one message %q", got, err, mark)
	}
}

// refusedByACL tells the broker's two refusals: Topic Authorization Failed to a principal
// that may see the topic (Describe) but not write it, and Unknown Topic Or Partition to one
// that may not even see it (Kafka does not tell it that the topic exists; the admin just
// created it).
func refusedByACL(err error) bool {
	return errors.Is(err, kafka.TopicAuthorizationFailed) || errors.Is(err, kafka.UnknownTopicOrPartition) ||
		strings.Contains(err.Error(), "Topic Authorization Failed") || strings.Contains(err.Error(), "Unknown Topic Or Partition")
}

// partitions asks for a topic's metadata within a short deadline.
func partitions(ctx context.Context, cl stream.Cluster, topic string) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return stream.Partitions(ctx, cl, topic)
}
