package simulate

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestAPIDrillRetriesServerErrorsButNotRefusals(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int // answers in order; the last repeats
		wantErr  bool
		wantReqs int32
	}{
		{"a 5xx is retried with the same idempotency key", []int{503, 201}, false, 2},
		{"a 4xx is final", []int{400}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			keys := make(chan string, 10)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				keys <- r.Header.Get("Idempotency-Key")
				w.WriteHeader(tt.statuses[min(i, len(tt.statuses)-1)])
			}))
			defer srv.Close()
			d := &APIDrill{BaseURL: srv.URL, Token: "t", RunID: "run1", Client: srv.Client()}
			err := d.Start(t.Context(), Happening{Site: "STH-S2", Parameter: "nh3n"})
			if (err != nil) != tt.wantErr || n.Load() != tt.wantReqs {
				t.Errorf("err %v after %d requests; want error %v after %d", err, n.Load(), tt.wantErr, tt.wantReqs)
			}
			close(keys)
			first := <-keys
			for k := range keys {
				if k != first {
					t.Errorf("retry with key %q, first was %q", k, first)
				}
			}
		})
	}
}
