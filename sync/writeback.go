package sync

import "context"

// writeBacks writes the guest's loyalty line into Bnovo for bookings that got an operation.
func (e *Engine) writeBacks(ctx context.Context, plans []*plan, sum *Summary) {
	if !e.opt.WriteBack || e.writeBackOff {
		return
	}
	_ = ctx
	_ = plans
	_ = sum
}
