package main

// An independent tile authenticator, used next to tlog.TileHashReader.
//
// Why: tlog.TileHashReader in golang.org/x/mod (checked: v0.7.0, the Debian package)
// authenticates full tiles against their parents in a loop that starts at len(stx), the
// number of *stored-hash indexes* needed for the tree hash, instead of at the number of
// distinct *tiles* those indexes live in. Whenever several of those indexes share a
// tile (the usual case), the first few non-edge tiles of a ReadHashes call are never
// checked, and a tampered hash in them is returned as if proven. selftest.go
// demonstrates this on a 3000-leaf tree. So every hash this verifier relies on is also
// read through authReader, which binds every tile to the checkpoint root itself.

import (
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// authReader is a tlog.HashReader over the tiles of one tree. Each returned hash comes
// from a tile that is bound to tree.Hash:
//   - the partial tiles at the right edge are bound by recomputing the tree hash from
//     them (every entry of an edge tile feeds into the root);
//   - a full tile is bound when its Merkle root equals its entry in its parent tile,
//     and that parent is bound in turn. Every full tile has a parent (a full tile at
//     level L means at least one hash at level L+1).
type authReader struct {
	tree  tlog.Tree
	fetch func([]tlog.Tile) ([][]byte, error)

	mu         sync.Mutex
	rootBound  bool
	bound      map[tlog.Tile]bool
	checkCount int
}

func newAuthReader(tree tlog.Tree, fetch func([]tlog.Tile) ([][]byte, error)) *authReader {
	return &authReader{tree: tree, fetch: fetch, bound: map[tlog.Tile]bool{}}
}

// tileOf returns the tile of this tree holding stored hash x, at the width the tree
// gives it.
func (a *authReader) tileOf(x int64) (tlog.Tile, error) {
	least := tlog.TileForIndex(tileHeight, x)
	t, ok := hashTile(a.tree.N, least.L, least.N)
	if !ok || t.W < least.W {
		level, n := tlog.SplitStoredHashIndex(x)
		return tlog.Tile{}, fmt.Errorf("hash (level %d, n %d) is not in a tree of size %d", level, n, a.tree.N)
	}
	return t, nil
}

// ancestry lists t and its parents up to the first partial tile.
func (a *authReader) ancestry(t tlog.Tile) ([]tlog.Tile, error) {
	chain := []tlog.Tile{t}
	for t.W == tileWidth {
		p, ok := hashTile(a.tree.N, t.L+1, t.N/tileWidth)
		if !ok {
			return nil, fmt.Errorf("full tile %s has no parent in a tree of size %d", mustPath(t), a.tree.N)
		}
		chain = append(chain, p)
		t = p
	}
	return chain, nil
}

// bindRoot recomputes the tree hash from the edge tiles and requires the checkpoint root.
func (a *authReader) bindRoot() error {
	if a.rootBound {
		return nil
	}
	if a.tree.N == 0 {
		return fmt.Errorf("an empty tree has no tiles")
	}
	raw := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		tiles := make([]tlog.Tile, len(ix))
		for k, x := range ix {
			t, err := a.tileOf(x)
			if err != nil {
				return nil, err
			}
			if t.W == tileWidth {
				return nil, fmt.Errorf("internal: tree-hash node in full tile %s", mustPath(t))
			}
			tiles[k] = t
		}
		data, err := a.fetch(tiles)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(ix))
		for k, x := range ix {
			if out[k], err = tlog.HashFromTile(tiles[k], data[k], x); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
	th, err := tlog.TreeHash(a.tree.N, raw)
	if err != nil {
		return err
	}
	if th != a.tree.Hash {
		return fmt.Errorf("the right-edge (partial) tiles give tree hash %s, the checkpoint says %s", th, a.tree.Hash)
	}
	for _, t := range edgeTiles(a.tree.N) {
		if t.L >= 0 {
			a.bound[t] = true
		}
	}
	a.rootBound = true
	return nil
}

// bind authenticates t (and its ancestors); their data must already be fetchable.
func (a *authReader) bind(t tlog.Tile) error {
	if a.bound[t] {
		return nil
	}
	if t.W != tileWidth {
		return fmt.Errorf("partial tile %s is not the edge tile of a tree of size %d", mustPath(t), a.tree.N)
	}
	p, ok := hashTile(a.tree.N, t.L+1, t.N/tileWidth)
	if !ok {
		return fmt.Errorf("full tile %s has no parent", mustPath(t))
	}
	if err := a.bind(p); err != nil {
		return err
	}
	data, err := a.fetch([]tlog.Tile{t, p})
	if err != nil {
		return err
	}
	want, err := tlog.HashFromTile(p, data[1], tlog.StoredHashIndex((t.L+1)*tileHeight, t.N))
	if err != nil {
		return err
	}
	if got := merkleRoot(data[0]); got != want {
		return fmt.Errorf("tile %s hashes to %s but its entry in %s is %s (tampered or inconsistent tile)", mustPath(t), got, mustPath(p), want)
	}
	a.bound[t] = true
	a.checkCount++
	return nil
}

// ReadHashes implements tlog.HashReader.
func (a *authReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.bindRoot(); err != nil {
		return nil, err
	}
	tiles := make([]tlog.Tile, len(indexes))
	var need []tlog.Tile
	seen := map[tlog.Tile]bool{}
	for k, x := range indexes {
		t, err := a.tileOf(x)
		if err != nil {
			return nil, err
		}
		tiles[k] = t
		chain, err := a.ancestry(t)
		if err != nil {
			return nil, err
		}
		for _, c := range chain {
			if !seen[c] {
				seen[c] = true
				need = append(need, c)
			}
		}
	}
	if _, err := a.fetch(need); err != nil { // prefetch in parallel; later fetches hit the cache
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for k, x := range indexes {
		if err := a.bind(tiles[k]); err != nil {
			return nil, err
		}
		data, err := a.fetch([]tlog.Tile{tiles[k]})
		if err != nil {
			return nil, err
		}
		if out[k], err = tlog.HashFromTile(tiles[k], data[0], x); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// merkleRoot is the RFC 6962 root of a full tile's 2^k hashes.
func merkleRoot(data []byte) tlog.Hash {
	level := make([]tlog.Hash, len(data)/tlog.HashSize)
	for k := range level {
		copy(level[k][:], data[k*tlog.HashSize:])
	}
	for len(level) > 1 {
		next := level[:len(level)/2]
		for k := range next {
			next[k] = tlog.NodeHash(level[2*k], level[2*k+1])
		}
		level = next
	}
	return level[0]
}
