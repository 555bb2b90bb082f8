package alerting

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store's buckets.
const (
	BucketOutbox   = "outbox"   // undelivered messages, by sequence number
	BucketNflog    = "nflog"    // what was last sent to whom, by receiver/integration/group
	BucketSilences = "silences" // silences, by ID
	BucketHistory  = "history"  // the audit trail, by sequence number (bounded)
)

var buckets = []string{BucketOutbox, BucketNflog, BucketSilences, BucketHistory}

// Op is one write of a transaction: a put, or a delete when Value is nil.
type Op struct {
	Bucket string
	Key    []byte
	Value  []byte
}

// Store keeps the alerting state that must survive a restart: the outbox, the
// notification log, silences and history. Apply must be atomic and durable: when it
// returns nil, all of its ops are on stable storage, and a crash at any moment leaves
// either all or none of them.
type Store interface {
	// Load calls fn for every record of bucket in key order.
	Load(bucket string, fn func(key, value []byte) error) error
	// Apply writes ops in one atomic, durable transaction.
	Apply(ops ...Op) error
}

// BoltStore is the Store on an embedded bbolt file. Every Apply is one bbolt Update
// transaction, which fsyncs the file before it returns (NoSync is never set), so what
// Apply returned for survives kill -9 and power loss; bbolt's copy-on-write pages
// make a torn transaction invisible on the next open.
type BoltStore struct {
	db *bolt.DB
}

// OpenBoltStore opens (creating if needed) the store file at path, e.g.
// <global.storage_path>/alerting.db. It waits at most 5s for another process's lock.
func OpenBoltStore(path string) (*BoltStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("alerting store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("alerting store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("alerting store %s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

// Load implements Store.
func (s *BoltStore) Load(bucket string, fn func(key, value []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return fmt.Errorf("no bucket %q", bucket)
		}
		return b.ForEach(func(k, v []byte) error { return fn(slices.Clone(k), slices.Clone(v)) })
	})
}

// Apply implements Store: one fsynced bbolt transaction.
func (s *BoltStore) Apply(ops ...Op) error {
	if len(ops) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, op := range ops {
			b := tx.Bucket([]byte(op.Bucket))
			if b == nil {
				return fmt.Errorf("no bucket %q", op.Bucket)
			}
			var err error
			if op.Value == nil {
				err = b.Delete(op.Key)
			} else {
				err = b.Put(op.Key, op.Value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

// MemStore is a Store in memory, for tests and for running without storage_path. It
// can fail its writes on demand to test the callers' error paths.
type MemStore struct {
	mu      sync.Mutex
	data    map[string]map[string][]byte
	applies int
	// FailApply, when set, is returned by Apply instead of writing.
	FailApply error
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	m := &MemStore{data: map[string]map[string][]byte{}}
	for _, b := range buckets {
		m.data[b] = map[string][]byte{}
	}
	return m
}

// Load implements Store.
func (m *MemStore) Load(bucket string, fn func(key, value []byte) error) error {
	m.mu.Lock()
	b, ok := m.data[bucket]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("no bucket %q", bucket)
	}
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = b[k]
	}
	m.mu.Unlock()
	for i, k := range keys {
		if err := fn([]byte(k), slices.Clone(vals[i])); err != nil {
			return err
		}
	}
	return nil
}

// Apply implements Store.
func (m *MemStore) Apply(ops ...Op) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailApply != nil {
		return m.FailApply
	}
	for _, op := range ops {
		if _, ok := m.data[op.Bucket]; !ok {
			return fmt.Errorf("no bucket %q", op.Bucket)
		}
	}
	for _, op := range ops {
		if op.Value == nil {
			delete(m.data[op.Bucket], string(op.Key))
		} else {
			m.data[op.Bucket][string(op.Key)] = slices.Clone(op.Value)
		}
	}
	m.applies++
	return nil
}

// Len returns the number of records in bucket.
func (m *MemStore) Len(bucket string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data[bucket])
}

// Applies returns how many transactions were applied.
func (m *MemStore) Applies() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applies
}

// Clone returns a copy of the store's contents, as a process restarted after a crash
// would find them.
func (m *MemStore) Clone() *MemStore {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMemStore()
	for b, recs := range m.data {
		for k, v := range recs {
			c.data[b][k] = slices.Clone(v)
		}
	}
	return c
}
