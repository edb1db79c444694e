package pipeline

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hotelsync/syncd/bnovo/bnovotest"
)

// A state file whose Bnovo token was issued for another account or host (bnovo.base_url or
// account_id changed, a state file brought from another install) never sends that token: it
// would read another hotel's bookings, or hand one host's credential to another.
func TestStoredTokenOfAnotherAccountOrHostIsNotUsed(t *testing.T) {
	dir := t.TempDir()
	open := func(srv *bnovotest.Server, account int64) *Pipeline {
		t.Helper()
		path := filepath.Join(dir, "syncd.yaml")
		yaml := `bnovo: {base_url: "` + srv.URL + `", account_id: ` + strconv.FormatInt(account, 10) + `, api_key: test-key}
probonus: {base_url: "http://127.0.0.1:2", token: test-token, account_group_id: 1}
state: {path: ` + filepath.Join(dir, "state.db") + `, lock_timeout: 100ms}
`
		p, err := Open(loadConfig(t, path, yaml), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	hotelA := bnovotest.NewServer(bnovotest.Options{AccountID: 1})
	defer hotelA.Close()
	hotelB := bnovotest.NewServer(bnovotest.Options{AccountID: 2})
	defer hotelB.Close()

	p := open(hotelA, 1)
	if err := p.PMS.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	for _, step := range []struct {
		name    string
		srv     *bnovotest.Server
		account int64
	}{{"same account on another host", hotelB, 1}, {"another account", hotelB, 2}} {
		before := step.srv.Stats().AuthCalls
		p := open(step.srv, step.account)
		_ = p.PMS.Login(t.Context()) // hotel B refuses account 1: the attempt is what counts
		_ = p.Close()
		if step.srv.Stats().AuthCalls != before+1 {
			t.Errorf("%s: the token stored for the previous configuration was used instead of logging in", step.name)
		}
	}
	p = open(hotelA, 1)
	defer p.Close()
	if err := p.PMS.Login(t.Context()); err != nil || hotelA.Stats().AuthCalls != 1 {
		t.Errorf("back on hotel A: %v, %d logins in all: want its stored token used", err, hotelA.Stats().AuthCalls)
	}
}
