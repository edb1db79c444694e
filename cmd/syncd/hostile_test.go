package main

import (
	"testing"

	"github.com/hotelsync/syncd/bnovo/bnovotest"
	"github.com/hotelsync/syncd/internal/hostile"
)

// A hostile network through syncd's own wiring (config, clients, engine): every Bnovo payments
// call and every ProBonus lookup is redirected to another host. Nothing reaches it, nothing is
// posted or parked; once the network heals, the next run credits the stays. (Answers that are
// retried within a call, such as a proxy's HTML page, are covered by the sync package's tests:
// here they would only wait out the retry policy.)
func TestOnceRunOnAHostileNetwork(t *testing.T) {
	r := newSimRig(t, rigOptions{bookings: 10})
	r.bn.HostileNext(bnovotest.EndpointPayments, 100000, hostile.Redirect)
	r.pb.HostileNext("find", 100000, hostile.Redirect)
	stdout, stderr, code := r.run(t, "-once")
	if n := len(r.bn.Captured()) + len(r.pb.Captured()); n != 0 {
		t.Fatalf("%d requests left the configured origins", n)
	}
	if ops := r.pb.AllOperations(); len(ops) != 0 {
		t.Fatalf("%d operations posted on a hostile network (exit %d)\nstdout: %s\nstderr: %s", len(ops), code, stdout, stderr)
	}
	stdout, _, _ = r.run(t, "-status")
	if parked := statusValues(stdout)["parked"]; parked != "0" {
		t.Fatalf("parked %q after a run on a hostile network, want 0:\n%s", parked, stdout)
	}

	r.bn.HostileNext(bnovotest.EndpointPayments, 0, 0)
	r.pb.HostileNext("find", 0, 0)
	stdout, stderr, code = r.run(t, "-once")
	if code != exitOK || len(r.pb.AllOperations()) == 0 {
		t.Fatalf("healed network: exit %d, %d operations\nstdout: %s\nstderr: %s", code, len(r.pb.AllOperations()), stdout, stderr)
	}
	stdout, _, _ = r.run(t, "-status")
	if parked := statusValues(stdout)["parked"]; parked != "0" {
		t.Fatalf("parked %q once the network healed, want 0:\n%s", parked, stdout)
	}
}
