package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/hotelsync/syncd/metrics"
	syncer "github.com/hotelsync/syncd/sync"
)

// outages remembers which API the daemon cannot reach and since when, so an outage is warned
// about once (not every cycle) and /healthz and -status can say "degraded: Bnovo unreachable
// since ...". A cycle that succeeds ends every outage.
type outages struct {
	mu    gosync.Mutex
	since map[string]outage // by API name ("Bnovo", "ProBonus")
}

type outage struct {
	since time.Time
	cause string
}

// observe records a run's result. For an unreachable API it returns whether this starts a new
// outage (warn) or continues one (keep quiet); ended lists the outages a success closed, with
// how long each lasted.
func (o *outages) observe(err error, at time.Time) (began bool, ended map[string]time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ue *syncer.UnreachableError
	switch {
	case err == nil:
		if len(o.since) == 0 {
			return false, nil
		}
		ended = make(map[string]time.Duration, len(o.since))
		for api, out := range o.since {
			ended[api] = at.Sub(out.since)
		}
		o.since = nil
		return false, ended
	case errors.As(err, &ue):
		if _, known := o.since[ue.API]; known {
			return false, nil
		}
		if o.since == nil {
			o.since = map[string]outage{}
		}
		o.since[ue.API] = outage{since: at, cause: ue.Err.Error()}
		return true, nil
	}
	return false, nil
}

// health is "ok", or "degraded: ..." naming every API that is unreachable.
func (o *outages) health(loc *time.Location) string {
	if err := o.degraded(loc); err != nil {
		return "degraded: " + err.Error()
	}
	return "ok"
}

// degraded is nil while every API answers, else a *metrics.Degraded naming each unreachable one,
// since when, and why.
func (o *outages) degraded(loc *time.Location) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.since) == 0 {
		return nil
	}
	apis := make([]string, 0, len(o.since))
	for api := range o.since {
		apis = append(apis, api)
	}
	slices.Sort(apis)
	parts := make([]string, 0, len(apis))
	for _, api := range apis {
		out := o.since[api]
		parts = append(parts, fmt.Sprintf("%s unreachable since %s (%s)", api, out.since.In(loc).Format(time.DateTime), out.cause))
	}
	return &metrics.Degraded{Reason: strings.Join(parts, "; ")}
}
