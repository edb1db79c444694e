package webhook

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hotelsync/syncd/state"
)

// errTooManyIDs makes a delivery with more than MaxIDs ids a 413: it is too large, not malformed.
var errTooManyIDs = errors.New("too many booking ids")

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	raisePeak(&s.peakFlight, s.inFlight.Add(1))
	defer s.inFlight.Add(-1)

	if !s.isRoute(r.URL.Path) {
		// The default mux's answer: nothing tells a scanner that a receiver lives here. The path
		// is not logged, as it may be a near miss of the secret.
		s.reject(r, http.StatusNotFound, "unknown path")
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.answerError(w, r, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	if r.ContentLength > s.opt.MaxBody {
		s.answerError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.opt.MaxBody))
		return
	}
	body, err := readBody(w, r, s.opt.MaxBody)
	if err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			s.answerError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.opt.MaxBody))
			return
		}
		s.answerError(w, r, http.StatusBadRequest, "body could not be read")
		return
	}
	ids, err := parseDelivery(body, s.opt.MaxIDs)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errTooManyIDs) {
			status = http.StatusRequestEntityTooLarge
		}
		s.answerError(w, r, status, err.Error())
		return
	}

	if len(ids) > 0 {
		// One transaction per delivery, whatever its size: the only cost a flood can impose.
		err := s.opt.DB.Update(func(tx *state.Tx) error { return tx.Announce(s.opt.MaxQueued, ids...) })
		if errors.Is(err, state.ErrQueueFull) {
			// Nothing of this delivery was queued: Bnovo retries it later, and the scheduled
			// cycle finds the change by its window anyway.
			s.full.Add(1)
			s.log.Warn().Str("path", redactedPath).Int("ids", len(ids)).Int("max_queued", s.opt.MaxQueued).
				Msg("webhook queue full: delivery refused with 503; the scheduled cycle still finds every change")
			w.Header().Set("Retry-After", strconv.Itoa(int(queueFullRetryAfter/time.Second)))
			writeJSON(w, http.StatusServiceUnavailable, `{"ok":false,"error":"queue full, retry later"}`)
			return
		}
		if err != nil {
			s.failed.Add(1)
			s.log.Error().Err(err).Str("path", redactedPath).Int("ids", len(ids)).
				Msg("webhook delivery could not be queued; Bnovo may retry, and the scheduled cycle catches the change anyway")
			writeJSON(w, http.StatusInternalServerError, `{"ok":false,"error":"could not queue the delivery"}`)
			return
		}
		if s.opt.Notify != nil {
			s.opt.Notify()
		}
	}
	s.accepted.Add(1)
	s.ids.Add(int64(len(ids)))
	s.log.Debug().Str("path", redactedPath).Str("remote", r.RemoteAddr).Int("ids", len(ids)).Msg("webhook delivery queued")
	writeJSON(w, http.StatusOK, `{"ok":true}`)
}

// readBody reads the whole body, at most limit bytes. A declared Content-Length (already checked
// against limit) sizes the buffer once: one allocation of the delivery's own size instead of
// io.ReadAll's copies from 512 bytes up, and a read whose steps do not depend on the body's
// length — the fuzzer otherwise finds every growth step "new" and spends ~10 s minimizing each
// such body byte by byte. A body of unknown length (chunked) is read as it comes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	limited := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength < 0 {
		return io.ReadAll(limited)
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(limited, body); err != nil {
		return nil, err
	}
	return body, nil
}

// raisePeak sets peak to running if that is higher, without a lock.
func raisePeak(peak *atomic.Int64, running int64) {
	for {
		seen := peak.Load()
		if running <= seen || peak.CompareAndSwap(seen, running) {
			return
		}
	}
}

// isRoute compares the path with the secret route in constant time. Hashing first makes the
// comparison's time independent of the lengths too, so timing reveals neither the secret's
// characters nor its length.
func (s *Server) isRoute(path string) bool {
	got := sha256.Sum256([]byte(path))
	return subtle.ConstantTimeCompare(got[:], s.routeHash[:]) == 1
}

// reject counts and logs a refused request; the caller writes the answer.
func (s *Server) reject(r *http.Request, status int, reason string) {
	s.rejected.Add(1)
	path := "[other]"
	if status != http.StatusNotFound {
		path = redactedPath
	}
	s.log.Debug().Int("status", status).Str("method", r.Method).Str("path", path).
		Str("remote", r.RemoteAddr).Str("reason", reason).Msg("webhook request rejected")
}

// answerError rejects a request that reached the secret route. Only a holder of the secret sees
// these answers, so they may say what was wrong.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, status int, reason string) {
	s.reject(r, status, reason)
	msg, _ := json.Marshal(reason) // a string always marshals
	writeJSON(w, status, `{"ok":false,"error":`+string(msg)+`}`)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// parseDelivery reads {"data":{"booking_ids":[...]}} and returns the ids, ascending and without
// duplicates. Keys are matched exactly (encoding/json's struct decoding would also take "Data"
// or "BOOKING_IDS"); every other member is ignored, since only the ids are trusted. Each id must
// be written as a positive JSON integer: 1.0, 1e3, "7", 0 and -7 are refused rather than
// guessed at.
func parseDelivery(body []byte, maxIDs int) ([]int64, error) {
	var envelope map[string]json.RawMessage
	if err := json.Unmarshal(body, &envelope); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %w", err)
	}
	var data map[string]json.RawMessage
	if err := unmarshalMember(envelope, "data", &data); err != nil {
		return nil, err
	}
	var rawIDs []json.RawMessage
	if err := unmarshalMember(data, "booking_ids", &rawIDs); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if len(rawIDs) > maxIDs {
		return nil, fmt.Errorf("%w: %d in one delivery, at most %d accepted", errTooManyIDs, len(rawIDs), maxIDs)
	}
	ids := make([]int64, 0, len(rawIDs))
	for i, raw := range rawIDs {
		id, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("booking_ids[%d] is not a positive integer", i)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// unmarshalMember decodes object[name] into dst; a missing member or a JSON null is an error,
// so a delivery cannot pass for an empty one by leaving its ids out.
func unmarshalMember(object map[string]json.RawMessage, name string, dst any) error {
	raw, ok := object[name]
	if !ok {
		return fmt.Errorf("no %q member", name)
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fmt.Errorf("%q is null", name)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%q has the wrong type: %w", name, err)
	}
	return nil
}
