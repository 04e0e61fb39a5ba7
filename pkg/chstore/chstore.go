// Package chstore opens riverwatch's ClickHouse connection over the native protocol
// (clickhouse-go/v2). The native protocol is the one that works against Debian's
// ClickHouse 18.16 as well as current releases; the HTTP transport does not.
package chstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/cenkalti/backoff/v5"
	"github.com/riverwatch/riverwatch/pkg/config"
)

// Config says where ClickHouse is.
type Config struct {
	Addr        string
	Database    string // "" connects to default; the archiver creates riverwatch itself
	Username    string
	Password    string
	DialTimeout time.Duration // bounds opening the connection; must be > 0
	TLS         *tls.Config   // nil: plaintext; else the secure native port (9440)
}

// ConfigFrom is the Config of a clickhouse section: its address, database, account and TLS
// (clickhouse.tls, its CA read here).
func ConfigFrom(c config.ClickHouse) (Config, error) {
	t, err := c.TLS.ClientConfig()
	if err != nil {
		return Config{}, fmt.Errorf("config key clickhouse.tls: %w", err)
	}
	return Config{Addr: c.Addr, Database: c.Database, Username: c.Username, Password: c.Password, DialTimeout: c.DialTimeout, TLS: t}, nil
}

// Open connects and pings. Query settings are left empty on purpose: 18.16 refuses string
// settings sent by clickhouse-go.
func Open(ctx context.Context, cfg Config) (driver.Conn, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:            []string{cfg.Addr},
		Auth:            clickhouse.Auth{Database: cfg.Database, Username: cfg.Username, Password: cfg.Password},
		Protocol:        clickhouse.Native,
		DialTimeout:     cfg.DialTimeout,
		MaxOpenConns:    8,
		MaxIdleConns:    4,
		ConnMaxLifetime: time.Hour,
		ReadTimeout:     5 * time.Minute,
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		TLS:             cfg.TLS,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", cfg.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: ping: %w", cfg.Addr, err)
	}
	return conn, nil
}

// check refuses what no retry can cure.
func (c Config) check() error {
	if c.DialTimeout <= 0 { // clickhouse.dial_timeout, refused by its Validate too
		return fmt.Errorf("chstore: DialTimeout %v must be > 0", c.DialTimeout)
	}
	return nil
}

// OpenRetrying opens ClickHouse (Open) and asks the server's version, retrying with
// jittered exponential backoff (250 ms doubling to 5 s) while the server does not answer,
// for up to wait (0: until ctx is done). A service may then start before its database:
// waiting is better than a crash loop. The error, when it gives up, holds the last
// attempt's. An invalid cfg is refused at once.
func OpenRetrying(ctx context.Context, cfg Config, wait time.Duration, log *slog.Logger) (driver.Conn, Version, error) {
	if err := cfg.check(); err != nil {
		return nil, Version{}, err
	}
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	type opened struct {
		conn driver.Conn
		v    Version
	}
	var last error
	res, err := backoff.Retry(ctx, func() (opened, error) {
		conn, err := Open(ctx, cfg)
		if err == nil {
			v, verr := ServerVersion(ctx, conn)
			if verr == nil {
				return opened{conn, v}, nil
			}
			conn.Close()
			err = verr
		}
		last = err
		return opened{}, err
	},
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval: 250 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 5 * time.Second,
		}),
		backoff.WithMaxElapsedTime(0), // wait, or ctx, bounds it
		backoff.WithNotify(func(err error, next time.Duration) {
			log.Warn("clickhouse not available, retrying", "addr", cfg.Addr, "backoff", next, "err", err)
		}),
	)
	if err != nil {
		return nil, Version{}, fmt.Errorf("clickhouse %s: gave up: %w", cfg.Addr, errors.Join(last, ctx.Err()))
	}
	return res.conn, res.v, nil
}

// Version is a ClickHouse server version.
type Version struct{ Major, Minor int }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// ServerVersion asks the server for its version.
func ServerVersion(ctx context.Context, conn driver.Conn) (Version, error) {
	var s string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&s); err != nil {
		return Version{}, fmt.Errorf("clickhouse version: %w", err)
	}
	return ParseVersion(s)
}

// ParseVersion parses "18.16.1" or "24.8.4.13".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("clickhouse version %q: want major.minor", s)
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return Version{}, fmt.Errorf("clickhouse version %q: not numeric", s)
	}
	return Version{Major: maj, Minor: min}, nil
}
