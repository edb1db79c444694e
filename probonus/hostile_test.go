package probonus_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotelsync/syncd/internal/hostile"
	"github.com/hotelsync/syncd/probonus"
	"github.com/hotelsync/syncd/probonus/probonustest"
	"github.com/hotelsync/syncd/retry"
)

var hostileAnswers = map[string]hostile.Answer{
	"wrong shape":   hostile.WrongShape,
	"success false": hostile.SuccessFalse,
	"HTML page":     hostile.HTMLPage,
	"{}":            hostile.EmptyObject,
}

// endpointCalls calls each endpoint about account 1 (Анна, who holds one deposit).
var endpointCalls = map[string]func(context.Context, *probonus.Client) error{
	"find": func(ctx context.Context, c *probonus.Client) error {
		_, err := c.FindAccount(ctx, "79161234567")
		return err
	},
	"account": func(ctx context.Context, c *probonus.Client) error {
		_, err := c.Account(ctx, 1)
		return err
	},
	"operations": func(ctx context.Context, c *probonus.Client) error {
		_, _, err := c.Operations(ctx, 1, 0, 100)
		return err
	},
	"create": func(ctx context.Context, c *probonus.Client) error {
		_, err := c.CreateAccount(ctx, probonus.NewAccount{FirstName: "Иван", Phones: []string{"79160000001"}})
		return err
	},
	"deposit": func(ctx context.Context, c *probonus.Client) error {
		_, err := c.Deposit(ctx, 1, 100, "x")
		return err
	},
	"withdraw": func(ctx context.Context, c *probonus.Client) error {
		_, err := c.Withdraw(ctx, 1, 100, "x")
		return err
	},
	"identifier_types": func(ctx context.Context, c *probonus.Client) error {
		_, err := c.IdentifierTypes(ctx)
		return err
	},
}

func annaWithADeposit(t *testing.T, srv *probonustest.Server, c *probonus.Client) {
	t.Helper()
	srv.AddAccount(anna())
	if _, err := c.Deposit(t.Context(), 1, 50000, "first"); err != nil {
		t.Fatal(err)
	}
}

// A 200 that is not the documented answer is a Transient failure of every call: never "no
// operations", "not found", account 0 or a Permanent error; for a write, an unknown outcome.
func TestHostileAnswersAreTransientErrors(t *testing.T) {
	for endpoint, call := range endpointCalls {
		for name, answer := range hostileAnswers {
			t.Run(endpoint+"/"+name, func(t *testing.T) {
				t.Parallel() // its own simulator and client; the time is the retries' waits
				srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) {
					cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond}
				})
				annaWithADeposit(t, srv, c)
				srv.HostileNext(endpoint, 100000, answer)
				err := call(t.Context(), c)
				if err == nil {
					t.Fatal("a hostile answer was taken for a success")
				}
				e := asError(t, err)
				if e.Kind != probonus.Transient || !errors.Is(err, probonus.ErrUnexpectedAnswer) || probonus.IsNotFound(err) {
					t.Fatalf("got %v (kind %v), want a Transient error wrapping ErrUnexpectedAnswer", err, e.Kind)
				}
				if (endpoint == "deposit" || endpoint == "withdraw" || endpoint == "create") && !probonus.IsOutcomeUnknown(err) {
					t.Fatalf("a write answered %s: %v, want its outcome unknown", name, err)
				}
			})
		}
	}
}

// {} on a lookup is not account 0 (issue 11 item 14); nor is an account without an id.
func TestEmptyLookupAnswerIsNotAccountZero(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) {
		cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	})
	srv.AddAccount(anna())
	srv.HostileNext("find", 1, hostile.EmptyObject)
	a, err := c.FindAccount(t.Context(), "79161234567") // retried: the second answer is the real one
	if err != nil || a.ID != 1 {
		t.Fatalf("FindAccount after one {} = %+v, %v; want account 1", a, err)
	}
	srv.HostileNext("find", 100000, hostile.EmptyObject)
	a, err = c.FindAccount(t.Context(), "79161234567")
	if err == nil || a.ID != 0 || !errors.Is(err, probonus.ErrUnexpectedAnswer) {
		t.Fatalf("FindAccount answered {} = %+v, %v; want an unexpected-answer error", a, err)
	}
}

// Operations answered with a hostile 200 once: the client retries and returns the real page.
func TestOperationsAfterAHostileAnswerAreTheRealOnes(t *testing.T) {
	for name, answer := range hostileAnswers {
		t.Run(name, func(t *testing.T) {
			srv, c := newPair(t, probonustest.Options{}, nil)
			annaWithADeposit(t, srv, c)
			srv.HostileNext("operations", 1, answer)
			ops, total, err := c.Operations(t.Context(), 1, 0, 100)
			if err != nil || total != 1 || len(ops) != 1 || ops[0].Reason != "first" {
				t.Fatalf("Operations = %+v, %d, %v; want the one deposit", ops, total, err)
			}
		})
	}
}

// A redirect to another origin is refused on every endpoint: nothing reaches the other host,
// the refusal is Transient (nothing is parked for it), not retried, and for a write the outcome
// is unknown (looked up, never sent blindly again).
func TestRedirectToAnotherOriginIsRefusedAndNothingLeaves(t *testing.T) {
	for endpoint, call := range endpointCalls {
		t.Run(endpoint, func(t *testing.T) {
			srv, c := newPair(t, probonustest.Options{}, nil)
			annaWithADeposit(t, srv, c)
			before := c.Calls()
			srv.HostileNext(endpoint, 1, hostile.Redirect)
			err := call(t.Context(), c)
			if got := srv.Captured(); len(got) != 0 {
				t.Fatalf("%d requests reached the other origin, the first %s %s", len(got), got[0].Method, got[0].Path)
			}
			if err == nil || probonus.KindOf(err) != probonus.Transient || !strings.Contains(err.Error(), "redirect") {
				t.Fatalf("got %v, want a Transient error naming the refused redirect", err)
			}
			if calls := c.Calls() - before; calls != 1 {
				t.Fatalf("%d calls, want 1: a refused redirect is not retried", calls)
			}
		})
	}
}

// A deposit executed and then answered by a proxy's page is an unknown outcome, not a failure.
func TestDepositCommittedThenHostileAnswerIsOutcomeUnknown(t *testing.T) {
	for name, answer := range hostileAnswers {
		t.Run(name, func(t *testing.T) {
			srv, c := newPair(t, probonustest.Options{}, nil)
			srv.AddAccount(anna())
			srv.HostileAfterCommit("deposit", 1, answer)
			_, err := c.Deposit(t.Context(), 1, 100, "x")
			if !probonus.IsOutcomeUnknown(err) || len(srv.Operations(1)) != 1 {
				t.Fatalf("got %v with %d operations, want an unknown outcome of the committed deposit", err, len(srv.Operations(1)))
			}
		})
	}
}

// A 404 that is a proxy's page, not FastAPI's {"detail": ...}, is not ErrNotFound: a lookup
// answered so must never lead to creating a second account for the guest.
func TestProxyNotFoundPageIsNotNotFound(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) {
		cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	})
	srv.HostileNext("find", 100000, hostile.NotFoundPage)
	_, err := c.FindAccount(t.Context(), "79161234567")
	if err == nil || probonus.IsNotFound(err) || probonus.KindOf(err) != probonus.Transient {
		t.Fatalf("a proxy's 404 page: %v, want a Transient error that is not ErrNotFound", err)
	}
	srv.HostileNext("find", 0, 0)
	_, err = c.FindAccount(t.Context(), "79161234567")
	if !probonus.IsNotFound(err) {
		t.Fatalf("FastAPI's own 404: %v, want ErrNotFound", err)
	}
}

// A lookup answered with an account that does not hold the identifier (a caching proxy that
// ignores the query string) is not that guest's account.
func TestLookupAnsweredWithAnotherGuestsAccountIsRefused(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) {
		cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	})
	srv.AddAccount(anna())
	srv.HostileNext("find", 100000, hostile.FirstAccount)
	if a, err := c.FindAccount(t.Context(), "anna@example.ru"); err != nil || a.ID != 1 {
		t.Fatalf("Анна's own account: %+v, %v", a, err)
	}
	a, err := c.FindAccount(t.Context(), "79160000001")
	if err == nil || !errors.Is(err, probonus.ErrUnexpectedAnswer) || probonus.IsNotFound(err) {
		t.Fatalf("lookup of another phone answered with Анна's account: %+v, %v; want an unexpected answer", a, err)
	}
}

// A deposit answered 200 with an operation for another account, sum or kind is not believed:
// its outcome is unknown and looked up by marker.
func TestDepositAnswerForAnotherOperationIsOutcomeUnknown(t *testing.T) {
	for name, answer := range map[string]string{
		"another account": `{"id": 5, "accountId": 99, "type": "deposit", "sum": 100, "reason": "x", "createdAt": "2026-06-24T12:06:01+03:00", "balance": 100}`,
		"another sum":     `{"id": 5, "accountId": 1, "type": "deposit", "sum": 10000, "reason": "x", "createdAt": "2026-06-24T12:06:01+03:00", "balance": 100}`,
		"a withdrawal":    `{"id": 5, "accountId": 1, "type": "withdraw", "sum": 100, "reason": "x", "createdAt": "2026-06-24T12:06:01+03:00", "balance": 100}`,
	} {
		t.Run(name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, answer)
			}))
			defer ts.Close()
			c, err := probonus.New(probonus.Config{BaseURL: ts.URL, Token: testToken})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Deposit(t.Context(), 1, 100, "x")
			if !probonus.IsOutcomeUnknown(err) || !errors.Is(err, probonus.ErrUnexpectedAnswer) {
				t.Fatalf("got %v, want an unknown outcome", err)
			}
		})
	}
}

// A proxy's error page quoting the URL it failed on quotes the guest's phone or e-mail a lookup
// carries in its query: the error, which is logged and may become a parked reason, shows them
// masked.
func TestErrorPageQuotingTheLookupMasksTheIdentifier(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, func(cfg *probonus.Config) {
		cfg.Retry = retry.Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	})
	for _, id := range []string{"79161234567", "anna.petrova+hotel@example.ru"} {
		srv.HostileNext("find", 100000, hostile.URLErrorPage)
		_, err := c.FindAccount(t.Context(), id)
		if err == nil || probonus.KindOf(err) != probonus.Transient {
			t.Fatalf("an error page: %v, want a Transient error", err)
		}
		if msg := err.Error(); strings.Contains(msg, "petrova") || strings.Contains(msg, "9161234567") || !strings.Contains(msg, "502") {
			t.Fatalf("the error shows the identifier looked up: %s", msg)
		}
		srv.HostileNext("find", 0, 0)
	}
}

// A refusal of an account's creation that names the identifier taken (FastAPI apps often quote
// the value) names it masked in the error, which syncd logs.
func TestCreationRefusalQuotingTheIdentifierMasksIt(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"detail":"Идентификатор 79160000001 уже привязан к счёту 7; e-mail ivan.petrov@example.ru занят"}`)
	}))
	defer ts.Close()
	c, err := probonus.New(probonus.Config{BaseURL: ts.URL, Token: "test-token"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAccount(t.Context(), probonus.NewAccount{FirstName: "Иван", Phones: []string{"79160000001"}, Email: "ivan.petrov@example.ru"})
	if err == nil || probonus.KindOf(err) != probonus.Permanent {
		t.Fatalf("a refusal: %v, want a Permanent error", err)
	}
	if msg := err.Error(); strings.Contains(msg, "9160000001") || strings.Contains(msg, "petrov") || !strings.Contains(msg, "уже привязан") {
		t.Fatalf("the error shows the guest's identifiers (or not the refusal): %s", msg)
	}
}

// A deposit answered 2xx without a readable operation (an empty 200, a 204, a 201 with an empty
// body, a gzip body the transport was not asked for) is an unknown outcome: the server said
// yes, so it is looked up by marker, never sent again blindly nor taken as not posted.
func TestDepositAnsweredSuccessWithoutAnOperationIsOutcomeUnknown(t *testing.T) {
	for name, answer := range map[string]func(http.ResponseWriter){
		"200 empty": func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
		"204":       func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		"201 empty": func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) },
		"unasked gzip": func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write([]byte{0x1f, 0x8b, 0x08, 0x00, 0x00})
		},
	} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w) }))
		c, err := probonus.New(probonus.Config{BaseURL: ts.URL, Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Deposit(t.Context(), 1, 100, "x"); !probonus.IsOutcomeUnknown(err) {
			t.Errorf("%s: %v, want an unknown outcome", name, err)
		}
		ts.Close()
	}
}

// A 403 that is a firewall's page, not FastAPI's {"detail": ...}, says nothing of the token: it
// must not stop the run with "check probonus.token". It is a refusal of that request, and a
// deposit refused so was not executed.
func TestFirewallForbiddenPageIsNotRefusedCredentials(t *testing.T) {
	srv, c := newPair(t, probonustest.Options{}, nil)
	srv.AddAccount(anna())
	srv.HostileNext("deposit", 1, hostile.ForbiddenPage)
	_, err := c.Deposit(t.Context(), 1, 100, "x")
	if probonus.KindOf(err) != probonus.Permanent || probonus.IsOutcomeUnknown(err) || len(srv.Operations(1)) != 0 {
		t.Fatalf("a firewall's 403 page on a deposit: %v (kind %v), want Permanent, not executed", err, probonus.KindOf(err))
	}
	wrong, err := probonus.New(probonus.Config{BaseURL: srv.URL, Token: "wrong", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Account(t.Context(), 1); probonus.KindOf(err) != probonus.Auth {
		t.Fatalf("ProBonus's own refusal of the token: %v, want Auth", err)
	}
}
