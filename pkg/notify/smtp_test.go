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

// scriptedSMTP answers one connection: the greeting, then reply to the command whose
// verb is at (EHLO, MAIL, RCPT, DATA), 250 to the others; drop closes the connection
// after the greeting instead. The DATA of an accepted message arrives on the channel.
func scriptedSMTP(t *testing.T, at, reply string, drop bool) (string, chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	data := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "220 fake ESMTP\r\n")
		if drop {
			return
		}
		r := bufio.NewReader(c)
		var body strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if inData {
				if line == ".\r\n" {
					inData = false
					data <- body.String()
					io.WriteString(c, "250 queued\r\n")
					continue
				}
				body.WriteString(line)
				continue
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			verb, _, _ := strings.Cut(cmd, " ")
			verb, _, _ = strings.Cut(verb, ":")
			switch {
			case verb == at:
				io.WriteString(c, reply+"\r\n")
			case verb == "DATA":
				inData = true
				io.WriteString(c, "354 go on\r\n")
			case verb == "QUIT":
				io.WriteString(c, "221 bye\r\n")
				return
			default:
				io.WriteString(c, "250 ok\r\n")
			}
		}
	}()
	return ln.Addr().String(), data
}

func TestSMTPReplyCodeDecidesWhetherToRetry(t *testing.T) {
	tests := []struct {
		name      string
		at, reply string
		drop      bool
		ok, perm  bool
	}{
		{"accepted", "", "", false, true, false},
		{"550 mailbox unavailable is permanent", "RCPT", "550 5.1.1 no such user", false, false, true},
		{"554 transaction failed is permanent", "MAIL", "554 5.7.1 rejected", false, false, true},
		{"552 storage exceeded is permanent", "DATA", "552 5.3.4 too big", false, false, true},
		{"535 authentication refused is permanent", "RCPT", "535 5.7.8 bad credentials", false, false, true},
		{"450 mailbox busy is retried", "RCPT", "450 4.2.1 try later", false, false, false},
		{"451 local error is retried", "MAIL", "451 4.3.0 local error", false, false, false},
		{"421 service closing is retried", "MAIL", "421 4.3.2 shutting down", false, false, false},
		{"a dropped connection is retried", "", "", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := scriptedSMTP(t, tt.at, tt.reply, tt.drop)
			s := &SMTP{Addr: addr, From: "riverwatch@localhost"}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := s.Send(ctx, Target{Channel: ChannelSMTP, Address: "duty@example.org"}, msg)
			if (err == nil) != tt.ok || IsPermanent(err) != tt.perm {
				t.Errorf("err %v (permanent %v), want ok %v permanent %v", err, IsPermanent(err), tt.ok, tt.perm)
			}
		})
	}
}

func TestSMTPNetworkErrorsAreTransientWhateverTheirDigits(t *testing.T) {
	// The address is full of 5s: the old substring test called this refusal permanent.
	s := &SMTP{Addr: "127.0.0.55:2555", From: "riverwatch@localhost"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.Send(ctx, Target{Channel: ChannelSMTP, Address: "duty@example.org"}, msg)
	if err == nil || IsPermanent(err) {
		t.Fatalf("connection to a closed port: %v (permanent %v), want a transient error", err, IsPermanent(err))
	}
}

func TestSMTPHungRelayEndsAtTheDeadlineWithoutLeaking(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	accepted := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // accepts and never says a word
		}
	}()
	s := &SMTP{Addr: ln.Addr().String(), From: "riverwatch@localhost"}
	before := runtime.NumGoroutine()
	const attempts = 20
	for range attempts {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err := s.Send(ctx, Target{Channel: ChannelSMTP, Address: "duty@example.org"}, msg)
		cancel()
		if err == nil || IsPermanent(err) {
			t.Fatalf("hung relay: %v, want a transient error", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("a send with a 50 ms deadline took %v", took)
		}
		held = append(held, <-accepted)
	}
	// The sends' goroutines end with them; allow the runtime a moment to reap.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("goroutines before %d, after %d timed-out sends %d: sends leave goroutines behind", before, attempts, after)
	}
}
