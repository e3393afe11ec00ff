package etcd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ziad/cpra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Bounds of one state transaction, under etcd's defaults (128 operations,
// 1.5 MiB a request).
const (
	txnShards = 64
	txnBytes  = 1 << 20
)

// Write applies the engine's changes to the state of the shards they
// name, and writes each shard touched as one key, in transactions that
// succeed only while the member's token is still the shard's. Changes
// stamped with another token (the shard moved on) are dropped.
func (c *Cluster) Write(changes []cpra.Change) error {
	type put struct {
		s    int
		tok  int64
		blob []byte
	}
	c.mu.Lock()
	var touched []int
	seen := map[int]bool{}
	for _, ch := range changes {
		s := ch.Shard
		if s < 0 || s >= len(c.owner) || c.owner[s] == 0 || c.owner[s] != ch.Token {
			c.stats.conflicts.Add(1)
			continue
		}
		m, k := c.states[s], string(ch.Key)
		_, had := m[k]
		switch {
		case ch.Value == nil && had:
			delete(m, k)
			c.stats.records.Add(-1)
		case ch.Value != nil:
			m[k] = bytes.Clone(ch.Value)
			if !had {
				c.stats.records.Add(1)
			}
		}
		if !seen[s] {
			seen[s] = true
			touched = append(touched, s)
		}
	}
	puts := make([]put, 0, len(touched))
	for _, s := range touched {
		puts = append(puts, put{s: s, tok: c.owner[s], blob: encodeState(c.states[s])})
	}
	c.mu.Unlock()

	var errs []error
	for len(puts) > 0 {
		n, size := 0, 0
		for n < len(puts) && n < txnShards && (n == 0 || size+len(puts[n].blob) <= txnBytes) {
			size += len(puts[n].blob)
			n++
		}
		chunk := puts[:n]
		puts = puts[n:]
		cmps := make([]clientv3.Cmp, len(chunk))
		ops := make([]clientv3.Op, len(chunk))
		for i, p := range chunk {
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(c.ownerKey(p.s)), "=", p.tok)
			ops[i] = clientv3.OpPut(c.stateKey(p.s), string(p.blob))
		}
		ctx, cancel := c.opContext()
		r, err := c.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("writing the state of %d shards: %w", len(chunk), err)
		}
		if r.Succeeded {
			c.stats.writes.Add(uint64(len(chunk)))
			c.stats.writeBytes.Add(uint64(size))
			continue
		}
		// Some shard moved on: write the others one by one.
		for i, p := range chunk {
			ctx, cancel := c.opContext()
			r, err := c.cli.Txn(ctx).If(cmps[i]).Then(ops[i]).Commit()
			cancel()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("writing the state of shard %d: %w", p.s, err))
			case r.Succeeded:
				c.stats.writes.Add(1)
				c.stats.writeBytes.Add(uint64(len(p.blob)))
			default:
				c.stats.conflicts.Add(1)
			}
		}
	}
	return errors.Join(errs...)
}

// stateVersion is the first byte of a shard's state key.
const stateVersion = 1

// encodeState encodes a shard's records, in key order.
func encodeState(m map[string][]byte) []byte {
	size := 1 + binary.MaxVarintLen64
	for k, v := range m {
		size += len(k) + len(v) + 2*binary.MaxVarintLen32
	}
	b := make([]byte, 0, size)
	b = append(b, stateVersion)
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// decodeState decodes a shard's records.
func decodeState(b []byte) (map[string][]byte, error) {
	if len(b) == 0 || b[0] != stateVersion {
		return nil, fmt.Errorf("shard state of version %d, want %d", first(b), stateVersion)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errors.New("shard state: bad record count")
	}
	b = b[k:]
	m := make(map[string][]byte, n)
	field := func() ([]byte, error) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errors.New("shard state: truncated record")
		}
		f := b[k : k+int(l)]
		b = b[k+int(l):]
		return f, nil
	}
	for range n {
		key, err := field()
		if err != nil {
			return nil, err
		}
		val, err := field()
		if err != nil {
			return nil, err
		}
		m[string(key)] = bytes.Clone(val)
	}
	if len(b) != 0 {
		return nil, errors.New("shard state: trailing bytes")
	}
	return m, nil
}

func first(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}
