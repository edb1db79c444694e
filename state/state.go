// Package state keeps all of syncd's durable state in one bbolt file: cursors, the guest→account
// map, per-booking records, the operation journal, parked records, the rate-limit log, cached
// tokens and the webhook queue.
//
// Every change happens inside DB.Update, so it is committed (two fdatasyncs) or not at all: a
// kill -9 at any instant leaves the file at the last committed transaction. Callers should batch
// a page's work into one Update, because each commit is paid for in fsyncs.
//
// Times read back from the file are in UTC and carry no monotonic clock reading; compare them
// with time.Time.Equal.
package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is wrapped by Open when another process (or another DB in this process) holds the file.
var ErrLocked = errors.New("state file is locked by another process")

// ErrSchemaTooNew is wrapped by Open when the file was written by a newer syncd: reading it with an
// older schema could silently drop fields that protect the exactly-once guarantees.
var ErrSchemaTooNew = errors.New("state file schema is newer than this syncd supports")

// ErrOpConflict is returned by PutOp when an update would rewrite what an operation is (account,
// kind, sum, reason) or take back a confirmed posting. Either would make the journal disagree with
// what the server holds under that marker, which is how operations get doubled.
var ErrOpConflict = errors.New("conflicting update of a journaled operation")

// SchemaVersion is the layout version this package writes and the newest it can read.
const SchemaVersion = 1

const defaultLockTimeout = 2 * time.Second

// Options tunes Open.
type Options struct {
	LockTimeout time.Duration // default 2s; bbolt's default 0 would wait forever
}

// DB is an open state file. It is safe for concurrent use: bbolt allows one writer and many
// readers at a time.
type DB struct {
	bolt *bolt.DB
	path string
	// The files as opened, for CheckFile: the state file and the lock file beside it (held
	// until Close).
	opened     os.FileInfo
	lock       *os.File
	lockPath   string
	lockOpened os.FileInfo

	// writeMu serialises Update and CheckFile (bbolt serialises writers anyway), so that
	// written is always the stamp of the file as this DB's last write left it.
	writeMu sync.Mutex
	written stamp
}

var errLockHeld = errors.New("lock held")

// Tx is a transaction handle valid only inside the function passed to Update or View. Values it
// returns are copies and stay valid after the transaction ends.
type Tx struct {
	btx *bolt.Tx
}

var (
	bucketMeta       = []byte("meta")
	bucketCursors    = []byte("cursors")
	bucketAccounts   = []byte("accounts")
	bucketBookings   = []byte("bookings")
	bucketShortfalls = []byte("shortfalls")
	bucketOps        = []byte("ops")
	bucketOpenOps    = []byte("openops")
	bucketParked     = []byte("parked")
	bucketCalls      = []byte("calls")
	bucketTokens     = []byte("tokens")
	bucketQueue      = []byte("queue")
	// bucketRedeemShortfalls indexes bookings with a standing redemption shortfall.
	bucketRedeemShortfalls = []byte("redeemshortfalls")
	// bucketArrivals holds the bookings arriving soon whose guests get the line at check-in.
	bucketArrivals = []byte("arrivals")
	// bucketOwedLines holds the guest lines a run left unwritten (see owedlines.go).
	bucketOwedLines = []byte("owedlines")

	allBuckets = [][]byte{
		bucketMeta, bucketCursors, bucketAccounts, bucketBookings, bucketShortfalls, bucketOps,
		bucketOpenOps, bucketParked, bucketCalls, bucketTokens, bucketQueue, bucketRedeemShortfalls,
		bucketArrivals,
		bucketOwedLines,
	}

	metaSchemaKey = []byte("schema")
)

// fillPercents packs append-mostly buckets denser than bbolt's 0.5 default. Booking ids and
// call timestamps grow over time, so most inserts land at the right edge and half-empty pages
// would only waste file space; 0.9 leaves room for the occasional update of an older booking.
// The setting is per bucket handle, so it is applied on every writable transaction.
var fillPercents = map[string]float64{
	string(bucketBookings): 0.9,
	string(bucketOps):      0.9,
	string(bucketAccounts): 0.9,
	string(bucketQueue):    0.9,
}

const callsFillPercent = 1.0

// Open opens or creates the file (mode 0600, parent dir must exist), creates the buckets, checks a
// schema version (refuse a newer one with a clear error). When another process holds the lock it
// returns an error wrapping ErrLocked that names the path.
func Open(path string, opt Options) (*DB, error) {
	timeout := opt.LockTimeout
	if timeout <= 0 {
		timeout = defaultLockTimeout
	}
	lockPath := path + lockSuffix
	lock, err := lockBeside(lockPath, timeout)
	if errors.Is(err, errLockHeld) {
		return nil, fmt.Errorf("open state file %s: %w (its lock file %s is held; waited %s; is another syncd running?)", path, ErrLocked, lockPath, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	db, err := openLocked(path, timeout)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	db.lock, db.lockPath = lock, lockPath
	if lock != nil {
		if db.lockOpened, err = lock.Stat(); err != nil {
			db.Close()
			return nil, fmt.Errorf("state lock file %s: %w", lockPath, err)
		}
	}
	return db, nil
}

// openLocked opens the state file itself once its lock file is held.
func openLocked(path string, timeout time.Duration) (*DB, error) {
	bdb, err := openBolt(path, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open state file %s: %w (waited %s; is another syncd running?)", path, ErrLocked, timeout)
		}
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	db := &DB{bolt: bdb, path: path}
	// Taken right after bbolt opened (and locked) the file: the file at path now is the one
	// open, unless it was swapped within these microseconds.
	if db.opened, err = os.Stat(path); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	if err := guarded(path, func() error { return checkPages(path, bdb) }); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if err := guarded(path, func() error { return bdb.Update(initSchema) }); err != nil {
		_ = bdb.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	db.noteWriteLocked()
	return db, nil
}

func initSchema(btx *bolt.Tx) error {
	meta := btx.Bucket(bucketMeta)
	if meta == nil {
		// A bbolt file without our meta bucket but with other buckets belongs to something else;
		// writing our buckets into it would mix two programs' data.
		var foreign []byte
		_ = btx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			foreign = bytes.Clone(name)
			return errors.New("stop")
		})
		if foreign != nil {
			return fmt.Errorf("not a syncd state file (has bucket %q but no %q)", foreign, bucketMeta)
		}
		var err error
		if meta, err = btx.CreateBucket(bucketMeta); err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketMeta, err)
		}
		if err := meta.Put(metaSchemaKey, binary.BigEndian.AppendUint64(nil, SchemaVersion)); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
	}
	raw := meta.Get(metaSchemaKey)
	if len(raw) != 8 {
		return fmt.Errorf("schema version record is malformed (%d bytes)", len(raw))
	}
	version := binary.BigEndian.Uint64(raw)
	if version > SchemaVersion {
		return fmt.Errorf("%w: file has schema %d, this build reads up to %d", ErrSchemaTooNew, version, SchemaVersion)
	}
	// Older schemas would be migrated here; version 1 is the first.
	for _, name := range allBuckets {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	err := db.bolt.Close()
	if db.lock != nil {
		// Unlocked by closing; the lock file stays, as a lock file may.
		_ = db.lock.Close()
	}
	if err != nil {
		return fmt.Errorf("close state file %s: %w", db.path, err)
	}
	return nil
}

// Path is the file path Open was given.
func (db *DB) Path() string { return db.path }

// Update runs fn in a read-write transaction. fn's error (or panic) rolls back every change it made.
// Nothing is written into a file that is no longer as this DB left it (see CheckFile): the
// error wraps ErrReplaced.
func (db *DB) Update(fn func(*Tx) error) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if err := db.checkFileLocked(); err != nil {
		return err
	}
	defer db.noteWriteLocked()
	return db.bolt.Update(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx}) })
}

// View runs fn in a read-only transaction; write methods called on it fail.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx}) })
}

// Size is the state file's size in bytes.
func (db *DB) Size() (int64, error) {
	info, err := os.Stat(db.path)
	if err != nil {
		return 0, fmt.Errorf("stat state file: %w", err)
	}
	return info.Size(), nil
}

// UsedBytes is the size of the file's pages up to the highest one in use. bbolt grows the file in
// large steps, so this tracks the data's real footprint more closely than Size.
func (db *DB) UsedBytes() (int64, error) {
	var used int64
	err := db.bolt.View(func(btx *bolt.Tx) error {
		used = btx.Size()
		return nil
	})
	return used, err
}

// bucket returns a top-level bucket. Open creates them all, so a missing one means the file was
// damaged or the Tx is used after its transaction ended; that is reported, not panicked on.
func (tx *Tx) bucket(name []byte) (*bolt.Bucket, error) {
	b := tx.btx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("state bucket %q missing", name)
	}
	if tx.btx.Writable() {
		if fp, ok := fillPercents[string(name)]; ok {
			b.FillPercent = fp
		}
	}
	return b, nil
}

func (tx *Tx) writable() error {
	if !tx.btx.Writable() {
		return fmt.Errorf("state: write in a read-only transaction: %w", bolterrors.ErrTxNotWritable)
	}
	return nil
}
