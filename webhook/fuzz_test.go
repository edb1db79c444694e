package webhook

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hotelsync/syncd/state"
)

// FuzzHandler feeds arbitrary paths and bodies to the handler: it must never panic, answer only
// 200, 400, 404, 413 or 503 (queue full), and answer 200 only when every id the body names is then queued.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ path, body string }{
		{route, `{"data":{"booking_ids":[48211734]}}`},
		{route, `{"data":{"booking_ids":[3,1,3]},"x":[{"y":null}]}`},
		{route, `{"data":{"booking_ids":[]}}`},
		{route, `{"data":{"booking_ids":[0,-1,1.5,"2",1e3,9223372036854775808]}}`},
		{route, `{"data":{"booking_ids":null}}`},
		{route, `{"data":{"booking_ids":[1]}}{"data":{"booking_ids":[2]}}`},
		{route, `{"data":` + strings.Repeat("[", 500) + `}`},
		{route, "{\"data\":{\"booking_ids\":[1]},\"\xff\xfe\":\"\x00\"}"},
		{route, ``},
		{"/bnovo/" + testSecret[:5], `{"data":{"booking_ids":[1]}}`},
		{"/bnovo/%2e%2e/" + testSecret, `{}`},
	}
	for _, s := range seeds {
		f.Add(s.path, []byte(s.body))
	}
	db, err := state.Open(f.TempDir()+"/state.db", state.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	s, err := New(Options{DB: db, Secret: testSecret, MaxBody: 4 << 10, MaxIDs: 50})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()

	f.Fuzz(func(t *testing.T, path string, body []byte) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
		req.URL.Path = path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		switch rec.Code {
		case 404:
			if path == route {
				t.Fatalf("the route answered 404")
			}
			return
		case 400, 413, 503:
			if path != route {
				t.Fatalf("wrong path %q answered %d", path, rec.Code)
			}
			return
		case 200:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if path != route {
			t.Fatalf("wrong path %q accepted", path)
		}
		// A second reading of the accepted body through generic values (exact keys, as JSON
		// objects have; numbers kept as written): every id it names must now be queued.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var whole any
		if err := dec.Decode(&whole); err != nil {
			t.Fatalf("accepted a body encoding/json refuses (%v): %q", err, body)
		}
		envelope, _ := whole.(map[string]any)
		data, _ := envelope["data"].(map[string]any)
		list, ok := data["booking_ids"].([]any)
		if !ok {
			t.Fatalf("accepted a body without a booking_ids list: %q", body)
		}
		var ids []int64
		for _, v := range list {
			n, _ := v.(json.Number)
			id, err := n.Int64()
			if err != nil || id <= 0 {
				t.Fatalf("accepted id %v: %q", v, body)
			}
			ids = append(ids, id)
		}
		queue := queued(t, db)
		for _, id := range ids {
			if !slices.Contains(queue, id) {
				t.Fatalf("accepted id %d but it is not queued", id)
			}
		}
	})
}
