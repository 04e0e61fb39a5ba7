// Package chstore opens riverwatch's ClickHouse connection over the native protocol
// (clickhouse-go/v2). The native protocol is the one that works against Debian's
// ClickHouse 18.16 as well as current releases; the HTTP transport does not.
package chstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config says where ClickHouse is.
type Config struct {
	Addr        string
	Database    string // "" connects to default; the archiver creates riverwatch itself
	Username    string
	Password    string
	DialTimeout time.Duration // bounds opening the connection; must be > 0
}

// Open connects and pings. Query settings are left empty on purpose: 18.16 refuses string
// settings sent by clickhouse-go.
func Open(ctx context.Context, cfg Config) (driver.Conn, error) {
	if cfg.DialTimeout <= 0 { // clickhouse.dial_timeout, refused by its Validate too
		return nil, fmt.Errorf("chstore: DialTimeout %v must be > 0", cfg.DialTimeout)
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
