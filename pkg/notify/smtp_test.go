package notify

import (
	"bufio"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// replySMTP answers RCPT TO with reply ("" drops the connection there) and everything
// else with 250/354.
func replySMTP(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				io.WriteString(c, "220 fake\r\n")
				inData := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					cmd := strings.ToUpper(strings.TrimSpace(line))
					switch {
					case inData:
						if line == ".\r\n" {
							inData = false
							io.WriteString(c, "250 queued\r\n")
						}
					case strings.HasPrefix(cmd, "RCPT"):
						if reply == "" {
							return
						}
						io.WriteString(c, reply+"\r\n")
					case cmd == "DATA":
						inData = true
						io.WriteString(c, "354 go on\r\n")
					case cmd == "QUIT":
						io.WriteString(c, "221 bye\r\n")
						return
					default:
						io.WriteString(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestSMTPPermanenceFollowsTheReplyCode(t *testing.T) {
	tests := []struct {
		reply    string
		ok, perm bool
	}{
		{"250 ok", true, false},
		{"550 no such mailbox", false, true},
		{"554 rejected", false, true},
		{"552 too big", false, true},
		{"535 auth failed", false, true},
		{"450 mailbox busy", false, false},
		{"451 try later", false, false},
		{"421 closing", false, false},
		{"", false, false}, // connection dropped
	}
	for _, tt := range tests {
		t.Run("reply "+tt.reply, func(t *testing.T) {
			s := &SMTP{Addr: replySMTP(t, tt.reply), From: "rw@localhost"}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := s.Send(ctx, Target{Channel: ChannelSMTP, Address: "duty@example.org"}, msg)
			if (err == nil) != tt.ok || IsPermanent(err) != tt.perm {
				t.Errorf("err %v, permanent %v; want ok=%v permanent=%v", err, IsPermanent(err), tt.ok, tt.perm)
			}
		})
	}
}

func TestSMTPNetworkErrorIsTransient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := (&SMTP{Addr: "127.0.0.55:2555", From: "rw@localhost"}).Send(ctx, Target{Address: "a@b"}, msg)
	if err == nil || IsPermanent(err) {
		t.Errorf("err %v, want a transient error", err)
	}
}

func TestSMTPHungRelayEndsAtTheDeadlineWithoutLeaking(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answers
		}
	}()
	before := runtime.NumGoroutine()
	s := &SMTP{Addr: ln.Addr().String(), From: "rw@localhost"}
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		err := s.Send(ctx, Target{Address: "a@b"}, msg)
		cancel()
		if err == nil || IsPermanent(err) || time.Since(start) > 2*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	}
	time.Sleep(100 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("goroutines before %d, after 10 hung sends %d", before, after)
	}
}
