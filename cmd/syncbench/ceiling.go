package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// ceilingClients is how many goroutines the loopback ceiling runs at once: enough to keep both
// ends busy on a small machine (more only adds scheduling).
const ceilingClients = 8

// loopbackCeiling measures how many bare HTTP round trips a second Go's net/http makes on this
// machine right now, client and server in one process as in the in-process runs, for d: a
// handler that only answers a small JSON body, clients that only read it. No booking can cost
// less than its round trips, so this bounds the local pipeline whatever syncd does.
func loopbackCeiling(ctx context.Context, d time.Duration) (float64, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"payments":[{"id":7781,"booking_id":48211734,"type":"in","amount":15000.00}]}}`)
	}))
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: ceilingClients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		trips   atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	start := time.Now()
	for range ceilingClients {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/payments", nil)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errOnce.Do(func() { first = err })
					}
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil {
					trips.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return 0, fmt.Errorf("loopback ceiling: %w", first)
	}
	return float64(trips.Load()) / time.Since(start).Seconds(), nil
}
