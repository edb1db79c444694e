package ratelimit

import (
	"context"
	"errors"
	"time"
)

type Pair struct{ API, Auth *Limiter }

var errNoLimiter = errors.New("ratelimit: pair has no limiter for this kind of call")

// Wait admits one login (auth) or one API call.
func (p Pair) Wait(ctx context.Context, auth bool) error {
	l := p.API
	if auth {
		l = p.Auth
	}
	if l == nil {
		return errNoLimiter
	}
	return l.Wait(ctx)
}

// Block admits no login (auth) or API call before until.
func (p Pair) Block(auth bool, until time.Time) {
	l := p.API
	if auth {
		l = p.Auth
	}
	if l != nil {
		l.Block(until)
	}
}
