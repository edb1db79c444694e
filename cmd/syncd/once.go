package main

import (
	"context"
	"io"
	"time"
)

// runOnce runs one sync cycle and exits.
func runOnce(ctx context.Context, f flags, stdout io.Writer, getenv func(string) string) error {
	a, err := setup(f, stdout, getenv, false)
	if err != nil {
		return err
	}
	defer a.Close()
	runCtx, cancel := a.stop.arm(ctx)
	defer cancel(nil)
	start := time.Now()
	sum, err := a.engine.Cycle(runCtx)
	a.logSummary("cycle", sum, time.Since(start), err)
	return a.endOneShot(ctx, err)
}

// setup loads the config, builds the logger, reports config warnings and opens the app; for
// the daemon the app's API clients are instrumented for metrics.listen and its cycles are
// steady ones (pipeline.DaemonChangedEvery).
func setup(f flags, stdout io.Writer, getenv func(string) string, daemon bool) (*app, error) {
	cfg, warnings, err := loadConfig(f.configPath, getenv)
	if err != nil {
		return nil, err
	}
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return nil, err
	}
	// First, so whoever reads the journal after an upgrade knows which binary wrote the rest.
	bi := readBuildInfo()
	log.Info().Str("version", bi.Version).Str("commit", bi.commitText()).Str("go", bi.Go).Str("config", f.configPath).
		Msgf("syncd %s starting", modeName(f))
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	if f.dryRun {
		log.Info().Msg("dry run: nothing is posted or written to Bnovo or ProBonus; the state file keeps only the Bnovo calls spent and the access token")
	}
	var dm *daemonMetrics
	if daemon {
		if dm, err = newDaemonMetrics(cfg); err != nil {
			return nil, err
		}
	}
	return openApp(cfg, log, f.dryRun, dm, daemon)
}

// modeName names the run for its first log line.
func modeName(f flags) string {
	switch {
	case f.once:
		return "-once"
	case f.backfill != "":
		return "-backfill " + f.backfill
	default:
		return "daemon"
	}
}
