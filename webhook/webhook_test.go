package webhook

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotelsync/syncd/bnovo"
	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/testlog"
	"github.com/hotelsync/syncd/state"
)

const testSecret = "Zq7-webhook_secret.0123~x"

const route = "/bnovo/" + testSecret

func openDB(t testing.TB) *state.DB {
	t.Helper()
	db, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newTestServer builds a receiver on a fresh state file; notified counts Notify calls.
func newTestServer(t testing.TB, opt Options) (*Server, *state.DB, *atomic.Int64) {
	t.Helper()
	if opt.DB == nil {
		opt.DB = openDB(t)
	}
	if opt.Secret == "" {
		opt.Secret = testSecret
	}
	notified := new(atomic.Int64)
	if opt.Notify == nil {
		opt.Notify = func() { notified.Add(1) }
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s, opt.DB, notified
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL.Path = path
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func queued(t testing.TB, db *state.DB) []int64 {
	t.Helper()
	var ids []int64
	err := db.View(func(tx *state.Tx) error {
		entries, err := tx.Queued(0)
		for _, e := range entries {
			ids = append(ids, e.ID)
		}
		if err == nil && tx.QueueLen() != len(ids) {
			err = fmt.Errorf("QueueLen %d but %d ids queued", tx.QueueLen(), len(ids))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestNewRejectsBadOptions(t *testing.T) {
	db := openDB(t)
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"no db", Options{Secret: testSecret}, "state DB"},
		{"no secret", Options{DB: db}, "at least 16"},
		{"short secret", Options{DB: db, Secret: "abc"}, "at least 16"},
		{"slash in secret", Options{DB: db, Secret: "abcdefgh/ijklmnop"}, "only letters"},
		{"space in secret", Options{DB: db, Secret: "abcdefgh ijklmnop"}, "only letters"},
		{"negative body", Options{DB: db, Secret: testSecret, MaxBody: -1}, "negative"},
		{"negative ids", Options{DB: db, Secret: testSecret, MaxIDs: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want error containing %q", s, err, tt.want)
			}
			if strings.Contains(err.Error(), tt.opt.Secret) && tt.opt.Secret != "" {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	s, db, notified := newTestServer(t, Options{})
	h := s.Handler()
	body := `{"data":{"booking_ids":[1]}}`
	tests := []struct {
		method, path string
		want         int
	}{
		{"POST", "/bnovo/wrong-secret-0123456789", 404},
		{"POST", "/bnovo/" + testSecret[:len(testSecret)-1], 404},
		{"POST", route + "x", 404},
		{"POST", route + "/", 404},
		{"POST", "/" + route, 404},
		{"POST", "/BNOVO/" + testSecret, 404},
		{"POST", "/bnovo/", 404},
		{"POST", "/", 404},
		{"POST", "", 404},
		{"GET", "/bnovo/wrong-secret-0123456789", 404}, // wrong path wins: no hint from the method
		{"GET", route, 405},
		{"PUT", route, 405},
		{"HEAD", route, 405},
	}
	for _, tt := range tests {
		rec := do(h, tt.method, tt.path, body)
		if rec.Code != tt.want {
			t.Errorf("%s %q: %d %s, want %d", tt.method, tt.path, rec.Code, rec.Body, tt.want)
		}
		switch tt.want {
		case 404:
			if got := rec.Body.String(); got != "404 page not found\n" {
				t.Errorf("%s %q: 404 body %q gives a hint", tt.method, tt.path, got)
			}
		case 405:
			if allow := rec.Header().Get("Allow"); allow != "POST" {
				t.Errorf("%s %q: Allow %q", tt.method, tt.path, allow)
			}
		}
	}
	if ids := queued(t, db); len(ids) != 0 {
		t.Errorf("rejected requests queued %v", ids)
	}
	if st := s.Stats(); st.Rejected != int64(len(tests)) || st.Accepted != 0 || notified.Load() != 0 {
		t.Errorf("stats %+v, notified %d", st, notified.Load())
	}
	if rec := do(h, "POST", route, body); rec.Code != 200 || rec.Body.String() != `{"ok":true}` {
		t.Errorf("right path: %d %s", rec.Code, rec.Body)
	}
}

func TestDeliveryBodies(t *testing.T) {
	manyIDs := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprint(i + 1)
		}
		return `{"data":{"booking_ids":[` + strings.Join(parts, ",") + `]}}`
	}
	tests := []struct {
		name string
		body string
		want int
		ids  []int64
	}{
		{"one id", `{"data":{"booking_ids":[48211734]}}`, 200, []int64{48211734}},
		{"unknown ids are queued too", `{"data":{"booking_ids":[9223372036854775807, 5]}}`, 200, []int64{5, 9223372036854775807}},
		{"duplicates within a delivery", `{"data":{"booking_ids":[3,1,3,2,1,3]}}`, 200, []int64{1, 2, 3}},
		{"other members ignored", `{"event":"booking.update","data":{"type":"booking","booking_ids":[7],"booking":{"id":8}},"ids":[9]}`, 200, []int64{7}},
		{"whitespace", " \n{ \"data\" : { \"booking_ids\" : [ 4 , 5 ] } }\n", 200, []int64{4, 5}},
		{"empty list", `{"data":{"booking_ids":[]}}`, 200, nil},
		{"at the id limit", manyIDs(DefaultMaxIDs), 200, nil}, // ids checked by count below
		{"over the id limit", manyIDs(DefaultMaxIDs + 1), 413, nil},
		{"oversized body", `{"data":{"booking_ids":[1]},"pad":"` + strings.Repeat("x", int(DefaultMaxBody)) + `"}`, 413, nil},
		{"empty body", ``, 400, nil},
		{"not json", `booking_ids=1`, 400, nil},
		{"truncated", `{"data":{"booking_ids":[1`, 400, nil},
		{"trailing garbage", `{"data":{"booking_ids":[1]}} x`, 400, nil},
		{"two objects", `{"data":{"booking_ids":[1]}}{"data":{"booking_ids":[2]}}`, 400, nil},
		{"array", `[1,2]`, 400, nil},
		{"null", `null`, 400, nil},
		{"no data", `{"booking_ids":[1]}`, 400, nil},
		{"data in another case", `{"Data":{"booking_ids":[1]}}`, 400, nil},
		{"data null", `{"data":null}`, 400, nil},
		{"data not an object", `{"data":[1]}`, 400, nil},
		{"no ids", `{"data":{}}`, 400, nil},
		{"ids in another case", `{"data":{"Booking_IDs":[1]}}`, 400, nil},
		{"ids null", `{"data":{"booking_ids":null}}`, 400, nil},
		{"ids not a list", `{"data":{"booking_ids":1}}`, 400, nil},
		{"zero", `{"data":{"booking_ids":[1,0]}}`, 400, nil},
		{"negative", `{"data":{"booking_ids":[-5]}}`, 400, nil},
		{"minus zero", `{"data":{"booking_ids":[-0]}}`, 400, nil},
		{"fraction", `{"data":{"booking_ids":[1.5]}}`, 400, nil},
		{"integral float", `{"data":{"booking_ids":[2.0]}}`, 400, nil},
		{"exponent", `{"data":{"booking_ids":[1e3]}}`, 400, nil},
		{"string", `{"data":{"booking_ids":["7"]}}`, 400, nil},
		{"bool", `{"data":{"booking_ids":[true]}}`, 400, nil},
		{"null id", `{"data":{"booking_ids":[null]}}`, 400, nil},
		{"object id", `{"data":{"booking_ids":[{"id":1}]}}`, 400, nil},
		{"overflow", `{"data":{"booking_ids":[9223372036854775808]}}`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, db, notified := newTestServer(t, Options{})
			rec := do(s.Handler(), "POST", route, tt.body)
			if rec.Code != tt.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			got := queued(t, db)
			st := s.Stats()
			switch {
			case tt.want != 200:
				if len(got) != 0 || st.Rejected != 1 || st.Accepted != 0 || notified.Load() != 0 {
					t.Errorf("refused delivery left queue %v, stats %+v, notified %d", got, st, notified.Load())
				}
				if !strings.HasPrefix(rec.Body.String(), `{"ok":false,"error":"`) {
					t.Errorf("error body %s", rec.Body)
				}
			case tt.name == "at the id limit":
				if len(got) != DefaultMaxIDs || st.IDs != DefaultMaxIDs {
					t.Errorf("queued %d ids, stats %+v", len(got), st)
				}
			default:
				if !slices.Equal(got, tt.ids) || st.IDs != int64(len(tt.ids)) || st.Accepted != 1 {
					t.Errorf("queued %v, stats %+v; want %v", got, st, tt.ids)
				}
				if wantNotify := int64(min(len(tt.ids), 1)); notified.Load() != wantNotify {
					t.Errorf("notified %d times, want %d", notified.Load(), wantNotify)
				}
			}
		})
	}
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	s, db, _ := newTestServer(t, Options{MaxBody: 64})
	body := `{"data":{"booking_ids":[1]},"pad":"` + strings.Repeat("x", 100) + `"}`
	req := httptest.NewRequest("POST", route, io.MultiReader(strings.NewReader(body))) // unknown length
	if req.ContentLength > 0 {
		t.Fatalf("request has a Content-Length %d; the test wants a streamed body", req.ContentLength)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("streamed oversized body: %d %s, want 413", rec.Code, rec.Body)
	}
	if ids := queued(t, db); len(ids) != 0 {
		t.Errorf("queued %v", ids)
	}
	if rec := do(s.Handler(), "POST", route, `{"data":{"booking_ids":[1]}}`); rec.Code != 200 {
		t.Errorf("body under the custom limit: %d", rec.Code)
	}
}

func TestCustomIDLimit(t *testing.T) {
	s, _, _ := newTestServer(t, Options{MaxIDs: 2})
	if rec := do(s.Handler(), "POST", route, `{"data":{"booking_ids":[1,2]}}`); rec.Code != 200 {
		t.Errorf("2 ids: %d", rec.Code)
	}
	if rec := do(s.Handler(), "POST", route, `{"data":{"booking_ids":[1,2,3]}}`); rec.Code != 413 {
		t.Errorf("3 ids: %d, want 413", rec.Code)
	}
}

func TestQueuedOnceAcrossDeliveries(t *testing.T) {
	s, db, notified := newTestServer(t, Options{})
	for _, body := range []string{
		`{"data":{"booking_ids":[3,1,3]}}`,
		`{"data":{"booking_ids":[2,3,1]}}`,
		`{"data":{"booking_ids":[3]}}`,
	} {
		if rec := do(s.Handler(), "POST", route, body); rec.Code != 200 {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	// Served in the order first delivered: 1 and 3 came together, 2 later.
	if got := queued(t, db); !slices.Equal(got, []int64{1, 3, 2}) {
		t.Errorf("queue %v, want [1 3 2]", got)
	}
	if st := s.Stats(); st.Accepted != 3 || st.IDs != 6 || notified.Load() != 3 {
		t.Errorf("stats %+v, notified %d", st, notified.Load())
	}
}

func TestStateFailureIs500(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, _, notified := newTestServer(t, Options{DB: db})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rec := do(s.Handler(), "POST", route, `{"data":{"booking_ids":[1]}}`)
	if rec.Code != 500 {
		t.Errorf("closed state file: %d %s, want 500", rec.Code, rec.Body)
	}
	if st := s.Stats(); st.Failed != 1 || st.Accepted != 0 || notified.Load() != 0 {
		t.Errorf("stats %+v, notified %d", st, notified.Load())
	}
}

// serve runs s on a loopback port and returns its URL and a stop function that checks Serve's
// result.
func serve(t *testing.T, s *Server) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve after cancel: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

func TestFloodFromConcurrentClients(t *testing.T) {
	const (
		clients    = 40
		perClient  = 25
		distinct   = 100
		connsLimit = 8
	)
	before := runtime.NumGoroutine()
	s, db, notified := newTestServer(t, Options{MaxConns: connsLimit})
	base, stop := serve(t, s)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	var bad atomic.Int64
	var firstErr sync.Once
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				n := c*perClient + i
				// Each id shows up in ten deliveries, some together with a neighbour.
				body := fmt.Sprintf(`{"data":{"booking_ids":[%d,%d]}}`, n%distinct+1, (n+1)%distinct+1)
				resp, err := client.Post(base+route, "application/json", strings.NewReader(body))
				if err != nil {
					bad.Add(1)
					firstErr.Do(func() { t.Errorf("delivery %d: %v", n, err) })
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
					firstErr.Do(func() { t.Errorf("delivery %d: status %d", n, resp.StatusCode) })
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d deliveries failed", bad.Load(), clients*perClient)
	}
	want := make([]int64, distinct)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if got := queued(t, db); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("queue holds %d ids, want the %d distinct ones", len(got), distinct)
	}
	st := s.Stats()
	if st.Accepted != clients*perClient || st.Rejected != 0 || notified.Load() != clients*perClient {
		t.Errorf("stats %+v, notified %d", st, notified.Load())
	}
	if peak := s.peakFlight.Load(); peak > connsLimit || peak < 1 {
		t.Errorf("%d deliveries handled at once, cap is %d", peak, connsLimit)
	}

	stop()
	client.CloseIdleConnections()
	// Everything Serve started is gone once it returns (allow a little for runtime helpers).
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Errorf("%d goroutines after shutdown, %d before", n, before)
	}
}

func TestServeStopsWithWaitingClients(t *testing.T) {
	// With the only connection slot held, a second client waits in the backlog; shutdown must
	// still return.
	s, _, _ := newTestServer(t, Options{MaxConns: 1})
	s.shutdownTimeout = 100 * time.Millisecond
	base, stop := serve(t, s)
	held, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	waiting, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	stop() // fails the test if Serve does not return
}

func TestSecretNeverLogged(t *testing.T) {
	var logs testlog.Buffer
	logger := zerolog.New(&logs).Level(zerolog.DebugLevel)
	s, _, _ := newTestServer(t, Options{Logger: logger, MaxBody: 128})
	base, stop := serve(t, s)
	requests := []struct{ method, path, body string }{
		{"POST", route, `{"data":{"booking_ids":[1]}}`},
		{"POST", route, `{"data":{"booking_ids":[0]}}`},
		{"POST", route, `{"data":` + strings.Repeat(" ", 200) + `}`},
		{"GET", route, ``},
		{"POST", route + "x", `{}`},
		{"POST", "/other/" + testSecret, `{}`},
	}
	for _, r := range requests {
		req, err := http.NewRequestWithContext(t.Context(), r.method, base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// net/http's own error log goes through the same redaction.
	_, _ = redactingWriter{secret: testSecret, log: s.log}.Write([]byte("http: odd request " + route + "\n"))
	stop()

	out := logs.String()
	if strings.Contains(out, testSecret) {
		t.Errorf("secret in logs:\n%s", out)
	}
	for _, want := range []string{`"path":"/bnovo/[redacted]"`, "webhook receiver listening", "webhook delivery queued", "webhook request rejected", "http: odd request /bnovo/[redacted]"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestSimulatorDeliversOnSetStatus(t *testing.T) {
	wake := make(chan struct{}, 1)
	s, db, _ := newTestServer(t, Options{Notify: func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}})
	base, _ := serve(t, s)
	sim := bnovotest.NewServer(bnovotest.Options{})
	defer sim.Close()
	sim.PutBooking(bnovo.Booking{ID: 48211734, StatusID: bnovotest.StatusCheckedIn, StatusName: "Заселен"})
	sim.SetWebhook(base + route)
	sim.SetStatus(48211734, bnovotest.StatusCheckedOut, bnovotest.StatusNames[bnovotest.StatusCheckedOut])
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Fatalf("no delivery within 5s; simulator stats %+v", sim.Stats())
	}
	if got := queued(t, db); !slices.Equal(got, []int64{48211734}) {
		t.Errorf("queue %v", got)
	}
	// The simulator counts the delivery once it has read the answer, just after the wake.
	deadline := time.Now().Add(5 * time.Second)
	st := sim.Stats()
	for st.WebhookDeliveries == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		st = sim.Stats()
	}
	if st.WebhookDeliveries != 1 || st.WebhookFailures != 0 || st.Calls != 0 {
		t.Errorf("simulator stats %+v: one delivery, no API call expected", st)
	}
}

// readCounter counts the Read calls made on a request body.
type readCounter struct {
	r     io.Reader
	reads int
}

func (c *readCounter) Read(p []byte) (int, error) { c.reads++; return c.r.Read(p) }

// TestDeclaredBodyIsReadInOneStep: a body with a Content-Length is read into one buffer of its
// size, whatever that size. Growing a buffer step by step made the handler's path depend on the
// body's length, and `go test -fuzz FuzzHandler` then stalled for ~10 s at a time minimizing every
// body that crossed a growth step (issue 11 item 15).
func TestDeclaredBodyIsReadInOneStep(t *testing.T) {
	s, db, _ := newTestServer(t, Options{MaxBody: 8 << 10})
	body := `{"data":{"booking_ids":[1]},"pad":"` + strings.Repeat("x", 3000) + `"}`
	counted := &readCounter{r: strings.NewReader(body)}
	req := httptest.NewRequest("POST", route, counted)
	req.ContentLength = int64(len(body))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if counted.reads > 1 {
		t.Errorf("a %d-byte body was read in %d steps, want 1", len(body), counted.reads)
	}
	if ids := queued(t, db); !slices.Equal(ids, []int64{1}) {
		t.Errorf("queued %v, want [1]", ids)
	}
}

// TestBodyShorterThanDeclaredIsRefused: a body that ends before its Content-Length is a broken
// request, answered 400 and queued nowhere.
func TestBodyShorterThanDeclaredIsRefused(t *testing.T) {
	s, db, _ := newTestServer(t, Options{})
	req := httptest.NewRequest("POST", route, strings.NewReader(`{"data":{"booking_ids":[1]}}`))
	req.ContentLength = 100
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 400 {
		t.Errorf("short body: %d %s, want 400", rec.Code, rec.Body)
	}
	if ids := queued(t, db); len(ids) != 0 {
		t.Errorf("queued %v", ids)
	}
}

// TestFullQueueAnswers503AndQueuesNothing: the queue is bounded; a delivery whose new ids
// would pass the bound is refused with 503 and Retry-After, queues none of its ids and wakes
// nobody, while ids already queued are still accepted (issue 11 item 10: a flood held 96k ids).
func TestFullQueueAnswers503AndQueuesNothing(t *testing.T) {
	s, db, notified := newTestServer(t, Options{MaxQueued: 3})
	h := s.Handler()
	if rec := do(h, "POST", route, `{"data":{"booking_ids":[1,2]}}`); rec.Code != 200 {
		t.Fatalf("first delivery: %d %s", rec.Code, rec.Body)
	}
	rec := do(h, "POST", route, `{"data":{"booking_ids":[3,4]}}`)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("delivery past the bound: %d %s, want 503", rec.Code, rec.Body)
	}
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra <= 0 {
		t.Errorf("503 without a usable Retry-After: %q", rec.Header().Get("Retry-After"))
	}
	if ids := queued(t, db); !slices.Equal(ids, []int64{1, 2}) {
		t.Errorf("queued %v after the refused delivery, want [1 2] (nothing of it)", ids)
	}
	if notified.Load() != 1 {
		t.Errorf("notified %d times, want 1 (a refused delivery wakes nobody)", notified.Load())
	}
	if rec := do(h, "POST", route, `{"data":{"booking_ids":[2,1,3]}}`); rec.Code != 200 {
		t.Errorf("a delivery that fits (one new id): %d %s", rec.Code, rec.Body)
	}
	if st := s.Stats(); st.Full != 1 || st.Accepted != 2 {
		t.Errorf("stats %+v, want 1 full and 2 accepted", st)
	}
}
