package pulse

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHTTPSecretCutByQuoteIsMasked: the check quotes the first 200 bytes
// of a JSON field; a receiver that echoes a key just before that cut must
// not get the piece of it left before the cut into the error.
func TestHTTPSecretCutByQuoteIsMasked(t *testing.T) {
	const key = "CutHeaderKeyQx7Wz9"
	for _, pad := range []int{180, 185, 190, 193} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			echo := strings.Repeat("x", pad) + r.Header.Get("X-Api-Key") + " and more"
			_ = json.NewEncoder(w).Encode(map[string]string{"status": echo})
		}))
		c := MustHTTP(srv.URL+"/hc", WithHeader("X-Api-Key", key), WithJSONField("status", "ok"))
		err := c.Check(context.Background())
		srv.Close()
		if err == nil {
			t.Fatalf("pad %d: got nil, want a JSON field mismatch", pad)
		}
		msg := err.Error()
		if !strings.Contains(msg, "[red") { // the mask may be cut itself
			t.Errorf("pad %d: got %q, want the key masked", pad, msg)
		}
		for i := 0; i+4 <= len(key); i++ {
			if strings.Contains(msg, key[i:i+4]) {
				t.Errorf("pad %d: got %q, which holds %q of the key", pad, msg, key[i:i+4])
				break
			}
		}
	}
}
