package state

import "time"

// CallLog is one scope of the persisted rate-limit log, in the shape of ratelimit.Store.
type CallLog struct {
	db    *DB
	scope string
}

// CallLog returns the rate-limit log of scope (e.g. "bnovo", "bnovo-auth").
func (db *DB) CallLog(scope string) CallLog { return CallLog{db: db, scope: scope} }

func (c CallLog) LoadCalls(since time.Time) ([]time.Time, error) {
	var calls []time.Time
	err := c.db.View(func(tx *Tx) error {
		var err error
		calls, err = tx.Calls(c.scope, since)
		return err
	})
	return calls, err
}

func (c CallLog) RecordCalls(at ...time.Time) error {
	return c.db.Update(func(tx *Tx) error { return tx.AppendCalls(c.scope, at...) })
}

func (c CallLog) PruneCalls(before time.Time) error {
	return c.db.Update(func(tx *Tx) error { return tx.PruneCalls(c.scope, before) })
}

// ForgetCalls removes up to n calls logged at exactly at (slots a limiter reserved and did not
// use), in one durable write.
func (c CallLog) ForgetCalls(at time.Time, n int) error {
	return c.db.Update(func(tx *Tx) error { return tx.ForgetCalls(c.scope, at, n) })
}

// TokenStore keeps one named access token across restarts, in the shape of bnovo.TokenStore.
type TokenStore struct {
	db   *DB
	name string
}

// TokenStore returns the store of the token called name.
func (db *DB) TokenStore(name string) TokenStore { return TokenStore{db: db, name: name} }

func (t TokenStore) LoadToken() (string, time.Time, error) {
	var value string
	var expires time.Time
	err := t.db.View(func(tx *Tx) error {
		value, expires, _ = tx.Token(t.name)
		return nil
	})
	return value, expires, err
}

func (t TokenStore) SaveToken(token string, expires time.Time) error {
	return t.db.Update(func(tx *Tx) error { return tx.SetToken(t.name, token, expires) })
}
