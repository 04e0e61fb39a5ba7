package hj212

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHost answers each upload on its end of a pipe with what answer returns.
func fakeHost(t *testing.T, conn net.Conn, answer func(Packet) [][]byte) {
	t.Helper()
	go func() {
		dec := NewDecoder(conn, 0)
		for {
			f, err := dec.Next()
			if err != nil {
				return
			}
			p, err := ParsePacket(f.Data)
			if err != nil {
				continue
			}
			for _, b := range answer(p) {
				if _, err := conn.Write(b); err != nil {
					return
				}
			}
		}
	}()
}

func TestClientUploadWaitsForItsDataResponse(t *testing.T) {
	station, host := net.Pipe()
	defer station.Close()
	defer host.Close()
	setTime := Packet{QN: "20240601100000999", ST: "21", CN: CNSetTime, PW: "123456", MN: "1", Flag: NewFlag(V2017, true, false), CP: "SystemTime=20240601100000"}
	fakeHost(t, host, func(p Packet) [][]byte {
		other := Response9014(p)
		other.QN = "20240601100000001" // an answer to another upload: not ours
		a, _ := Encode(other)
		b, _ := Encode(setTime)
		c, _ := Encode(Response9014(p))
		return [][]byte{[]byte("junk"), a, b, c}
	})
	c := NewClient(station)
	var got []Packet
	c.OnPacket = func(p Packet) { got = append(got, p) }
	p := Packet{QN: "20240601100000000", ST: "21", CN: CNHour, PW: "123456", MN: "1", Flag: NewFlag(V2017, true, false), CP: "DataTime=20240601090000;w01018-Avg=1"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Upload(ctx, p); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if len(got) != 2 || got[1].CN != CNSetTime {
		t.Fatalf("OnPacket got %+v", got)
	}
}

func TestClientUploadWithoutAnswerTimesOutAndStaysUsable(t *testing.T) {
	station, host := net.Pipe()
	defer station.Close()
	defer host.Close()
	var answer atomic.Bool
	fakeHost(t, host, func(p Packet) [][]byte {
		if !answer.Load() {
			return nil
		}
		b, _ := Encode(Response9014(p))
		return [][]byte{b}
	})
	c := NewClient(station)
	p := Packet{QN: "20240601100000000", ST: "21", CN: CNHour, PW: "123456", MN: "1", Flag: NewFlag(V2017, true, false), CP: "DataTime=20240601090000;w01018-Avg=1"}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := c.Upload(ctx, p)
	cancel()
	if !errors.Is(err, ErrNoAck) {
		t.Fatalf("Upload without an answer: err = %v, want ErrNoAck", err)
	}
	answer.Store(true)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Upload(ctx, p); err != nil {
		t.Fatalf("resend after a timeout: %v", err)
	}
	// An upload that asks for no answer returns once written.
	p.Flag = NewFlag(V2017, false, false)
	if err := c.Upload(ctx, p); err != nil {
		t.Fatalf("upload without ack: %v", err)
	}
}
