package state

import (
	"path/filepath"
	"testing"
)

// BenchmarkOpen100k measures opening a state file of 100k bookings: Open walks every page once
// (bbolt's consistency check, see checkPages) before anything in the file is trusted, so its
// cost grows with the file. Run: go test -run '^$' -bench Open100k -benchtime 5x ./state
func BenchmarkOpen100k(b *testing.B) {
	const n = 100000
	path := filepath.Join(b.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	fillBookings(b, db, 48000000, n)
	size, err := db.Size()
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/(1<<20), "file-MiB")
}
