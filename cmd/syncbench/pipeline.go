package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/hotelsync/syncd/config"
	"github.com/hotelsync/syncd/internal/pipeline"
	"github.com/hotelsync/syncd/logging"
	"github.com/hotelsync/syncd/ratelimit"
)

// limiterReserve is ratelimit.Options.Reserve for the in-process pipeline's Bnovo limiter;
// -limiter-reserve 1 shows the unbatched cost.
var limiterReserve = pipeline.BnovoReserve

// engineWorkers is sync.Options.Workers for the in-process pipeline. Its log is a file, which
// takes concurrent writes.
var engineWorkers = pipeline.EngineWorkers

// pipelineWatch, when set, times the in-process pipeline's HTTP exchanges and limiter writes.
// Only the local scenario sets it: the wrappers change nothing but add two clock reads.
var pipelineWatch *stopwatch

// loadConfig reads the rig's config file the way syncd does, with no environment.
func loadConfig(path string) (config.Config, error) {
	cfg, _, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		return cfg, fmt.Errorf("loading %s: %w", path, err)
	}
	return cfg, nil
}

// openPipeline opens the state file and builds everything on it, as one start of syncd does
// (cmd/syncd builds the same pipeline), logging JSON to logs.
func openPipeline(cfg config.Config, logs io.Writer) (*pipeline.Pipeline, error) {
	log, err := logging.New(logs, cfg.Log.Level, "json")
	if err != nil {
		return nil, err
	}
	opt := pipeline.Options{Logger: log, Reserve: limiterReserve, Workers: engineWorkers}
	if watch := pipelineWatch; watch != nil {
		// As many idle connections as workers, or -workers above 2 would open and close a
		// connection for nearly every call (see sync.Options.Workers).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = max(2, engineWorkers)
		opt.HTTPClient = func(api string) *http.Client {
			return &http.Client{Transport: timedTransport{what: api + " http", watch: watch, next: tr}}
		}
		opt.WrapCallLog = func(s ratelimit.Store) ratelimit.Store { return timedStore{Store: s, watch: watch} }
	}
	return pipeline.Open(cfg, opt)
}
