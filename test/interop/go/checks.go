package main

// The checks themselves: full rebuild from the entries, sampled indices, the earlier
// checkpoint, historical proofs, receipts and negative behaviour.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// ---------------------------------------------------------------------------
// Full rebuild

// rebuild fetches every entry bundle of the tree, recomputes every stored hash with
// tlog.StoredHashesForRecordHash, and compares the tree hash and every hash tile.
func (v *verifier) rebuild() error {
	n := v.tree.N
	var bundleTiles []tlog.Tile
	for i := int64(0); ; i++ {
		t, ok := dataTile(n, i)
		if !ok {
			break
		}
		bundleTiles = append(bundleTiles, t)
	}
	if err := v.fetchBundles(bundleTiles); err != nil {
		return err
	}
	v.stored = make([]tlog.Hash, 0, tlog.StoredHashCount(n))
	v.mem = tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			if x < 0 || x >= int64(len(v.stored)) {
				return nil, fmt.Errorf("stored hash %d not rebuilt", x)
			}
			out[i] = v.stored[x]
		}
		return out, nil
	})
	for i := int64(0); i < n; i++ {
		e, ok := v.entries[i]
		if !ok {
			return fmt.Errorf("internal: entry %d missing after fetching all bundles", i)
		}
		hs, err := tlog.StoredHashesForRecordHash(i, tlog.RecordHash(e), v.mem)
		if err != nil {
			return fmt.Errorf("tlog.StoredHashesForRecordHash(%d): %v", i, err)
		}
		v.stored = append(v.stored, hs...)
	}
	v.sum.EntriesRehashed = n
	th, err := tlog.TreeHash(n, v.mem)
	if err != nil {
		return fmt.Errorf("tlog.TreeHash over the rebuilt tree: %v", err)
	}
	rootOK := th == v.tree.Hash
	if !rootOK {
		if e := v.fail("the entries in the bundles hash (RFC 6962, tlog.TreeHash) to root %s, but the checkpoint says %s", th, v.tree.Hash); e != nil {
			return e
		}
	}
	// Every hash tile the tree implies, byte for byte.
	tiles := treeTiles(n)
	data, err := v.tiles.fetch(tiles)
	if err != nil {
		return err
	}
	for i, t := range tiles {
		want, err := tlog.ReadTileData(t, v.mem)
		if err != nil {
			return fmt.Errorf("tlog.ReadTileData(%s): %v", mustPath(t), err)
		}
		if !bytes.Equal(data[i], want) {
			if e := v.fail("GET /%s: served tile differs from the tile Go rebuilds from the entries (%s)", mustPath(t), firstDiff(data[i], want)); e != nil {
				return e
			}
		}
		v.sum.HashTilesRebuilt++
	}
	if !rootOK {
		return errStop
	}
	return nil
}

// fetchBundles fetches and parses entry bundles, storing their entries.
func (v *verifier) fetchBundles(tiles []tlog.Tile) error {
	var need []tlog.Tile
	for _, t := range tiles {
		if _, ok := v.bundles[t.N]; !ok {
			need = append(need, t)
		}
	}
	data, err := v.tiles.fetch(need)
	if err != nil {
		return err
	}
	for i, t := range need {
		entries, err := parseBundle(data[i], t.W)
		if err != nil {
			return fmt.Errorf("GET /%s: %v", mustPath(t), err)
		}
		v.bundles[t.N] = entries
		for k, e := range entries {
			v.entries[t.N*tileWidth+int64(k)] = e
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Per-index checks

func (v *verifier) chooseIndices() []int64 {
	n := v.tree.N
	s := v.o.sample
	if s < 0 {
		if n <= 2000 {
			s = int(n)
		} else {
			s = 500
		}
	}
	if int64(s) >= n {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	chosen := map[int64]bool{}
	var out []int64
	add := func(i int64) {
		if i >= 0 && i < n && !chosen[i] && len(out) < s {
			chosen[i] = true
			out = append(out, i)
		}
	}
	// The first leaves, then edges of tiles, levels and the tree.
	for i := int64(0); i < 16; i++ {
		add(i)
	}
	for _, i := range []int64{0, n - 1, 1, n - 2, n / 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, n - n%256, n - n%256 - 1, n - n%65536, n - n%65536 - 1} {
		add(i)
	}
	if v.o.old != "" {
		if oldN, err := readOldSize(v.o.old); err == nil {
			add(oldN - 1)
			add(oldN)
			add(oldN - oldN%256)
		}
	}
	rng := rand.New(rand.NewSource(v.o.seed))
	for len(out) < s {
		add(rng.Int63n(n))
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

func readOldSize(file string) (int64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 {
		return 0, errors.New("short")
	}
	return parseCanonicalDecimal(lines[1])
}

func (v *verifier) checkIndices() error {
	indices := v.chooseIndices()
	// Bundles for the chosen indices (all already present after a full rebuild).
	var need []tlog.Tile
	seen := map[int64]bool{}
	for _, i := range indices {
		b := i / tileWidth
		if !seen[b] {
			seen[b] = true
			t, _ := dataTile(v.tree.N, b)
			need = append(need, t)
		}
	}
	if err := v.fetchBundles(need); err != nil {
		return err
	}
	// Every entry of every bundle fetched for the sample (all bundles after a full
	// rebuild, which has checked them already) against the authenticated level-0 tiles.
	if v.mem == nil {
		var all []int64
		for _, t := range need {
			for k := 0; k < t.W; k++ {
				all = append(all, tlog.StoredHashIndex(0, t.N*tileWidth+int64(k)))
			}
		}
		hs, err := v.auth.ReadHashes(all)
		if err != nil {
			v.fail("reading level-0 hashes for %d bundles: %v", len(need), err)
			return errStop
		}
		for k, x := range all {
			_, i := tlog.SplitStoredHashIndex(x)
			if rh := tlog.RecordHash(v.entries[i]); rh != hs[k] {
				bt, _ := dataTile(v.tree.N, i/tileWidth)
				if e := v.fail("entry %d: tlog.RecordHash(entry from /%s) = %s but the level-0 tile holds %s", i, mustPath(bt), rh, hs[k]); e != nil {
					return e
				}
			}
		}
		v.sum.EntriesRehashed = int64(len(all))
	}
	// Leaf hashes for all chosen indices in one authenticated read.
	stored := make([]int64, len(indices))
	for k, i := range indices {
		stored[k] = tlog.StoredHashIndex(0, i)
	}
	leaves, err := v.hr.ReadHashes(stored)
	if err != nil {
		return fmt.Errorf("TileHashReader.ReadHashes(leaves of %d sampled indices): %v", len(indices), err)
	}
	authLeaves, err := v.auth.ReadHashes(stored)
	if err != nil {
		v.fail("reading the leaf hashes of %d sampled indices from authenticated tiles: %v", len(indices), err)
		return errStop
	}
	for k := range indices {
		if leaves[k] != authLeaves[k] {
			v.fail("index %d: tlog.TileHashReader returned leaf hash %s, but the authenticated tiles hold %s", indices[k], leaves[k], authLeaves[k])
			return errStop
		}
	}
	return v.parallelDo(len(indices), func(k int) error {
		return v.checkIndex(indices[k], leaves[k])
	})
}

func (v *verifier) checkIndex(i int64, leaf tlog.Hash) error {
	n := v.tree.N
	entry, ok := v.entries[i]
	if !ok {
		return fmt.Errorf("internal: entry %d not loaded", i)
	}
	if rh := tlog.RecordHash(entry); rh != leaf {
		return v.fail("index %d: tlog.RecordHash(entry from bundle) = %s but the level-0 tile holds %s", i, rh, leaf)
	}
	p, err := proveRecord(n, i, v.hr, v.auth)
	if err != nil {
		return v.fail("index %d: %v", i, err)
	}
	if err := tlog.CheckRecord(p, n, v.tree.Hash, i, leaf); err != nil {
		return v.fail("index %d: tlog.CheckRecord: %v", i, err)
	}
	if err := v.compareInclusion(i, n, p); err != nil {
		return err
	}
	// /v1/entries/<i> must be the bundle entry.
	path := fmt.Sprintf("/v1/entries/%d", i)
	status, body, _, err := v.http.get(path)
	if err != nil {
		return v.fail("GET %s: %v", path, err)
	}
	if status != http.StatusOK {
		return v.fail("GET %s: status %d, want 200 (body %q)", path, status, clip(body))
	}
	if !bytes.Equal(body, entry) {
		return v.fail("GET %s: %d bytes differ from the bundle's entry %d (%d bytes; %s)", path, len(body), i, len(entry), firstDiff(body, entry))
	}
	v.mu.Lock()
	v.sum.IndicesChecked++
	v.sum.EntriesCompared++
	v.mu.Unlock()
	return nil
}

type inclusionJSON struct {
	Index  *int64   `json:"index"`
	Size   *int64   `json:"size"`
	Hashes []string `json:"hashes"`
}

// compareInclusion fetches /v1/proof/inclusion?index=i&size=n and requires it to be
// exactly Go's proof p.
func (v *verifier) compareInclusion(i, n int64, p tlog.RecordProof) error {
	path := fmt.Sprintf("/v1/proof/inclusion?index=%d&size=%d", i, n)
	var got inclusionJSON
	if err := v.getJSON(path, &got); err != nil {
		return v.fail("%v", err)
	}
	if got.Index == nil || *got.Index != i || got.Size == nil || *got.Size != n {
		return v.fail("GET %s: answer names index %v size %v", path, deref(got.Index), deref(got.Size))
	}
	if err := sameProof(got.Hashes, p); err != nil {
		return v.fail("GET %s: %v", path, err)
	}
	v.mu.Lock()
	v.sum.InclusionProofsCompared++
	v.mu.Unlock()
	return nil
}

type consistencyJSON struct {
	From   *int64   `json:"from"`
	To     *int64   `json:"to"`
	Hashes []string `json:"hashes"`
}

func (v *verifier) compareConsistency(from, to int64, p tlog.TreeProof) error {
	path := fmt.Sprintf("/v1/proof/consistency?from=%d&to=%d", from, to)
	var got consistencyJSON
	if err := v.getJSON(path, &got); err != nil {
		return v.fail("%v", err)
	}
	if got.From == nil || *got.From != from || got.To == nil || *got.To != to {
		return v.fail("GET %s: answer names from %v to %v", path, deref(got.From), deref(got.To))
	}
	if err := sameProof(got.Hashes, p); err != nil {
		return v.fail("GET %s: %v", path, err)
	}
	v.mu.Lock()
	v.sum.ConsistencyProofsCompared++
	v.mu.Unlock()
	return nil
}

// proveRecord runs tlog.ProveRecord over Go's TileHashReader and over the independent
// authenticator, and requires the same proof from both.
func proveRecord(t, n int64, hr tlog.HashReader, auth *authReader) (tlog.RecordProof, error) {
	p, err := tlog.ProveRecord(t, n, hr)
	if err != nil {
		return nil, fmt.Errorf("tlog.ProveRecord(%d, %d) over tlog.TileHashReader: %v", t, n, err)
	}
	q, err := tlog.ProveRecord(t, n, auth)
	if err != nil {
		return nil, fmt.Errorf("tlog.ProveRecord(%d, %d) over authenticated tiles: %v", t, n, err)
	}
	if !equalHashes(p, q) {
		return nil, fmt.Errorf("tlog.ProveRecord(%d, %d): tlog.TileHashReader gives %v but the authenticated tiles give %v", t, n, p, q)
	}
	return p, nil
}

// proveTree is proveRecord for tlog.ProveTree.
func proveTree(t, n int64, hr tlog.HashReader, auth *authReader) (tlog.TreeProof, error) {
	p, err := tlog.ProveTree(t, n, hr)
	if err != nil {
		return nil, fmt.Errorf("tlog.ProveTree(%d, %d) over tlog.TileHashReader: %v", t, n, err)
	}
	q, err := tlog.ProveTree(t, n, auth)
	if err != nil {
		return nil, fmt.Errorf("tlog.ProveTree(%d, %d) over authenticated tiles: %v", t, n, err)
	}
	if !equalHashes(p, q) {
		return nil, fmt.Errorf("tlog.ProveTree(%d, %d): tlog.TileHashReader gives %v but the authenticated tiles give %v", t, n, p, q)
	}
	return p, nil
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func sameProof(got []string, want []tlog.Hash) error {
	if got == nil {
		return errors.New(`no "hashes" array`)
	}
	wantS := make([]string, len(want))
	for k, h := range want {
		wantS[k] = h.String()
	}
	for k, s := range got {
		if _, err := parseCanonicalHash(s); err != nil {
			return fmt.Errorf("hashes[%d] %q: %v", k, s, err)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d hashes, Go's proof has %d:\n  got  %v\n  want %v", len(got), len(want), got, wantS)
	}
	for k := range got {
		if got[k] != wantS[k] {
			return fmt.Errorf("hashes[%d] = %s, Go says %s:\n  got  %v\n  want %v", k, got[k], wantS[k], got, wantS)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// The earlier checkpoint

func (v *verifier) checkOld() error {
	msg, err := os.ReadFile(v.o.old)
	if err != nil {
		return fmt.Errorf("-old: %v", err)
	}
	old, _, err := v.openCheckpoint(msg, "-old "+v.o.old)
	if err != nil {
		return err
	}
	v.oldTree = &old.Tree
	oldN := old.Tree.N
	v.sum.OldSize = &oldN
	if old.Origin != v.sum.Origin {
		v.fail("-old checkpoint origin %q differs from the current one %q", old.Origin, v.sum.Origin)
	}
	n := v.tree.N
	if oldN > n {
		return fmt.Errorf("-old checkpoint size %d is larger than the current size %d: the log shrank", oldN, n)
	}
	if oldN == 0 {
		empty := sha256.Sum256(nil)
		if old.Tree.Hash != tlog.Hash(empty) {
			v.fail("-old size-0 checkpoint root %s, want %s", old.Tree.Hash, tlog.Hash(empty))
		}
		return nil
	}
	// Consistency old -> new, through Go's client path over the new tree's tiles.
	p, err := proveTree(n, oldN, v.hr, v.auth)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(p, n, v.tree.Hash, oldN, old.Tree.Hash); err != nil {
		v.fail("the -old checkpoint (size %d, root %s) is NOT consistent with the current one (size %d, root %s): tlog.CheckTree: %v",
			oldN, old.Tree.Hash, n, v.tree.Hash, err)
	}
	if err := v.compareConsistency(oldN, n, p); err != nil {
		return err
	}

	// The old tree's partial tiles must still be served, and be authenticated by the
	// old root through a TileHashReader of the OLD tree.
	oldTiles := &tileReader{f: v.http, v: v, cache: map[tlog.Tile][]byte{}, saved: map[tlog.Tile]bool{}}
	oldHR := tlog.TileHashReader(old.Tree, oldTiles)
	th, err := tlog.TreeHash(oldN, oldHR)
	if err != nil {
		return v.fail("tlog.TreeHash(%d) over the OLD tree's tiles (partial tiles at the old widths): %v", oldN, err)
	} else if th != old.Tree.Hash {
		return v.fail("tlog.TreeHash(%d) over the OLD tree's tiles = %s, old root %s", oldN, th, old.Tree.Hash)
	}
	oldAuth := newAuthReader(old.Tree, oldTiles.fetch)
	if _, err := oldAuth.ReadHashes(nil); err != nil {
		return v.fail("old tree size %d: %v", oldN, err)
	}
	edges := edgeTiles(oldN)
	data, err := oldTiles.fetch(edges)
	if err != nil {
		return v.fail("old tree size %d: %v", oldN, err)
	}
	for k, t := range edges {
		path := mustPath(t)
		if t.L == -1 {
			entries, err := parseBundle(data[k], t.W)
			if err != nil {
				v.fail("GET /%s (old tree size %d): %v", path, oldN, err)
				continue
			}
			for j, e := range entries {
				idx := t.N*tileWidth + int64(j)
				if cur, ok := v.entries[idx]; ok && !bytes.Equal(cur, e) {
					v.fail("GET /%s: entry %d differs from the same entry in the current bundle", path, idx)
				}
			}
		} else {
			// Its hashes must be a prefix of the current tree's tile at the same place.
			cur, ok := hashTile(n, t.L, t.N)
			if ok {
				cd, err := v.tiles.fetch([]tlog.Tile{cur})
				if err != nil {
					v.fail("%v", err)
					continue
				}
				if !bytes.HasPrefix(cd[0], data[k]) {
					v.fail("GET /%s (old tree) is not a prefix of GET /%s (current tree): %s", path, mustPath(cur), firstDiff(data[k], cd[0][:min(len(cd[0]), len(data[k]))]))
				}
			}
			if v.mem != nil {
				want, err := tlog.ReadTileData(t, v.mem)
				if err == nil && !bytes.Equal(want, data[k]) {
					v.fail("GET /%s (old tree) differs from the tile Go rebuilds from the entries", path)
				}
			}
		}
		v.sum.OldPartialTilesChecked++
	}

	// A few inclusion proofs at the old size, through the old tree's tiles.
	rng := rand.New(rand.NewSource(v.o.seed + 7))
	picks := []int64{0, oldN - 1, oldN / 2}
	for k := 0; k < 13; k++ {
		picks = append(picks, rng.Int63n(oldN))
	}
	for _, i := range picks {
		p, err := proveRecord(oldN, i, oldHR, oldAuth)
		if err != nil {
			if e := v.fail("old tree: %v", err); e != nil {
				return e
			}
			continue
		}
		leaf, err := oldAuth.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
		if err == nil {
			if err := tlog.CheckRecord(p, oldN, old.Tree.Hash, i, leaf[0]); err != nil {
				v.fail("tlog.CheckRecord(index %d, old size %d): %v", i, oldN, err)
			}
		}
		if err := v.compareInclusion(i, oldN, p); err != nil {
			return err
		}
		v.sum.HistoricalInclusionProofs++
	}
	return nil
}

// ---------------------------------------------------------------------------
// Historical proofs from the rebuilt tree

func (v *verifier) checkHistorical() error {
	n := v.tree.N
	rng := rand.New(rand.NewSource(v.o.seed + 13))
	type pair struct{ a, b int64 }
	var incl, cons []pair
	// Fixed interesting pairs, then random ones.
	for _, p := range []pair{{0, 1}, {0, 2}, {1, 2}, {255, 256}, {255, 257}, {256, 257}, {0, 256}, {65535, 65536}, {65536, 65537}, {n - 1, n}} {
		if p.a < p.b && p.b <= n {
			incl = append(incl, p)
		}
	}
	for _, p := range []pair{{1, 2}, {1, n}, {n - 1, n}, {256, 257}, {255, 256}, {256, 512}, {65536, 65537}, {65535, n}, {n, n}, {1, 1}} {
		if p.a >= 1 && p.a <= p.b && p.b <= n {
			cons = append(cons, p)
		}
	}
	for k := 0; k < v.o.historical; k++ {
		size := 1 + rng.Int63n(n)
		incl = append(incl, pair{rng.Int63n(size), size})
		to := 1 + rng.Int63n(n)
		cons = append(cons, pair{1 + rng.Int63n(to), to})
	}
	err := v.parallelDo(len(incl), func(k int) error {
		i, size := incl[k].a, incl[k].b
		p, err := tlog.ProveRecord(size, i, v.mem)
		if err != nil {
			return fmt.Errorf("tlog.ProveRecord(%d, %d): %v", size, i, err)
		}
		if err := v.compareInclusion(i, size, p); err != nil {
			return err
		}
		v.mu.Lock()
		v.sum.HistoricalInclusionProofs++
		v.mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	return v.parallelDo(len(cons), func(k int) error {
		from, to := cons[k].a, cons[k].b
		p, err := tlog.ProveTree(to, from, v.mem)
		if err != nil {
			return fmt.Errorf("tlog.ProveTree(%d, %d): %v", to, from, err)
		}
		return v.compareConsistency(from, to, p)
	})
}

// ---------------------------------------------------------------------------
// Receipts

type receiptFile struct {
	Entry   string `json:"entry"`
	Receipt struct {
		Index          *int64   `json:"index"`
		LeafHash       string   `json:"leafHash"`
		Duplicate      *bool    `json:"duplicate"`
		Checkpoint     string   `json:"checkpoint"`
		InclusionProof []string `json:"inclusionProof"`
	} `json:"receipt"`
}

// checkReceipts verifies receipts offline exactly as a Go client holding only the
// log's key would: leaf hash, signed checkpoint, inclusion proof; then ties each
// receipt's checkpoint to the current tree with a consistency proof.
func (v *verifier) checkReceipts() error {
	b, err := os.ReadFile(v.o.receipts)
	if err != nil {
		return fmt.Errorf("-receipts: %v", err)
	}
	var list []receiptFile
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("-receipts %s: %v", v.o.receipts, err)
	}
	trees := map[int64]tlog.Tree{}
	for k, r := range list {
		what := fmt.Sprintf("receipt %d", k)
		entry, err := base64.StdEncoding.DecodeString(r.Entry)
		if err != nil {
			return fmt.Errorf("%s: entry is not base64: %v", what, err)
		}
		if r.Receipt.Index == nil {
			v.fail("%s: no index", what)
			continue
		}
		i := *r.Receipt.Index
		leaf := tlog.RecordHash(entry)
		if r.Receipt.LeafHash != leaf.String() {
			v.fail("%s (index %d): leafHash %s, tlog.RecordHash(entry) = %s", what, i, r.Receipt.LeafHash, leaf)
			continue
		}
		cp, _, err := v.openCheckpoint([]byte(r.Receipt.Checkpoint), what+" checkpoint")
		if err != nil {
			v.fail("%v", err)
			continue
		}
		proof := make(tlog.RecordProof, len(r.Receipt.InclusionProof))
		bad := false
		for j, s := range r.Receipt.InclusionProof {
			h, err := parseCanonicalHash(s)
			if err != nil {
				v.fail("%s: inclusionProof[%d] %q: %v", what, j, s, err)
				bad = true
				break
			}
			proof[j] = h
		}
		if bad {
			continue
		}
		if i < 0 || i >= cp.Tree.N {
			v.fail("%s: index %d outside its checkpoint's tree of size %d", what, i, cp.Tree.N)
			continue
		}
		if err := tlog.CheckRecord(proof, cp.Tree.N, cp.Tree.Hash, i, leaf); err != nil {
			v.fail("%s (index %d, checkpoint size %d): tlog.CheckRecord: %v", what, i, cp.Tree.N, err)
			continue
		}
		if v.mem != nil && cp.Tree.N <= v.tree.N {
			if want, err := tlog.ProveRecord(cp.Tree.N, i, v.mem); err == nil {
				if err := sameProof(r.Receipt.InclusionProof, want); err != nil {
					v.fail("%s: inclusionProof differs from Go's: %v", what, err)
				}
			}
		}
		// The receipt's checkpoint must be consistent with the current one.
		if cp.Tree.N > v.tree.N {
			v.fail("%s: checkpoint size %d is beyond the current size %d", what, cp.Tree.N, v.tree.N)
			continue
		}
		tp, err := proveTree(v.tree.N, cp.Tree.N, v.hr, v.auth)
		if err != nil {
			v.fail("%s: %v", what, err)
			continue
		}
		if err := tlog.CheckTree(tp, v.tree.N, v.tree.Hash, cp.Tree.N, cp.Tree.Hash); err != nil {
			v.fail("%s: its checkpoint (size %d) is not consistent with the current tree: %v", what, cp.Tree.N, err)
			continue
		}
		// And the entry must be in the log at that index.
		if e, ok := v.entries[i]; ok && !bytes.Equal(e, entry) {
			v.fail("%s: entry differs from the bundle's entry %d", what, i)
			continue
		}
		v.sum.ReceiptsChecked++
		trees[cp.Tree.N] = cp.Tree
	}
	// Every checkpoint a receipt carries was published, so the partial tiles of its tree
	// must still be served: recompute each such tree's hash from its own tiles.
	sizes := make([]int64, 0, len(trees))
	for n := range trees {
		sizes = append(sizes, n)
	}
	sort.Slice(sizes, func(a, b int) bool { return sizes[a] < sizes[b] })
	for _, n := range sizes {
		t := trees[n]
		th, err := tlog.TreeHash(n, tlog.TileHashReader(t, v.tiles))
		if err == nil && th != t.Hash {
			err = fmt.Errorf("= %s, want %s", th, t.Hash)
		}
		if err == nil {
			_, err = newAuthReader(t, v.tiles.fetch).ReadHashes(nil)
		}
		if err != nil {
			if e := v.fail("tree of size %d (from a receipt's checkpoint): tlog.TreeHash over its tiles: %v", n, err); e != nil {
				return e
			}
			continue
		}
		v.sum.ReceiptTreesFromTiles++
	}
	return nil
}

// ---------------------------------------------------------------------------
// Negative behaviour

func (v *verifier) checkNegative() error {
	n := v.tree.N
	type probe struct {
		path string
		want func(int) bool
		desc string
	}
	is404 := func(s int) bool { return s == http.StatusNotFound }
	is4xx := func(s int) bool { return s >= 400 && s < 500 }
	var probes []probe
	add404 := func(t tlog.Tile, why string) {
		probes = append(probes, probe{"/" + mustPath(t), is404, "404 (" + why + ")"})
	}

	// Tiles beyond the tree.
	full0 := n / tileWidth
	add404(tlog.Tile{H: 8, L: 0, N: full0 + 1, W: 256}, "level-0 tile beyond the tree")
	add404(tlog.Tile{H: 8, L: -1, N: full0 + 1, W: 256}, "entry bundle beyond the tree")
	add404(tlog.Tile{H: 8, L: 0, N: 1000, W: 256}, "level-0 tile far beyond the tree")
	if n%tileWidth != 0 {
		// The right-edge tile is partial: its full form does not exist yet.
		add404(tlog.Tile{H: 8, L: 0, N: full0, W: 256}, "full form of the partial level-0 tile")
		add404(tlog.Tile{H: 8, L: -1, N: full0, W: 256}, "full form of the partial entry bundle")
		if w := int(n % tileWidth); w < 255 {
			add404(tlog.Tile{H: 8, L: 0, N: full0, W: w + 1}, "partial tile wider than the tree")
			add404(tlog.Tile{H: 8, L: -1, N: full0, W: w + 1}, "partial bundle wider than the tree")
		}
	} else {
		add404(tlog.Tile{H: 8, L: 0, N: full0, W: 1}, "partial tile past a full edge")
	}
	// The first level with no tile at all.
	top := 0
	for top < 8 && n>>(uint(top)*8) > 0 {
		top++
	}
	add404(tlog.Tile{H: 8, L: top, N: 0, W: 256}, "level above the top of the tree")
	add404(tlog.Tile{H: 8, L: top, N: 0, W: 1}, "partial tile above the top of the tree")
	// Non-canonical tile paths must not be served (any 4xx).
	for _, p := range []string{"/tile/0/0", "/tile/0/0000", "/tile/0/x000/000", "/tile/00/000", "/tile/0/000.p/0",
		"/tile/0/000.p/256", "/tile/0/000.p/01", "/tile/entries/000.p/0", "/tile/entries/0", "/tile/8/0/000", "/tile/data/000", "/tile/64/000"} {
		probes = append(probes, probe{p, is4xx, "4xx (non-canonical or foreign tile path)"})
	}
	// JSON API outside the tree.
	probes = append(probes,
		probe{fmt.Sprintf("/v1/entries/%d", n), is404, "404 (entry index == size)"},
		probe{fmt.Sprintf("/v1/proof/inclusion?index=%d&size=%d", n, n), is4xx, "4xx (index == size)"},
		probe{fmt.Sprintf("/v1/proof/inclusion?index=0&size=%d", n+1), is4xx, "4xx (size beyond the tree)"},
		probe{fmt.Sprintf("/v1/proof/consistency?from=%d&to=%d", n, n+1), is4xx, "4xx (to beyond the tree)"},
		probe{"/v1/proof/consistency?from=2&to=1", is4xx, "4xx (from > to)"},
		probe{"/v1/entries/-1", is4xx, "4xx (negative index)"},
	)
	for _, p := range probes {
		status, body, _, err := v.http.get(p.path)
		if err != nil {
			if e := v.fail("GET %s: %v", p.path, err); e != nil {
				return e
			}
			continue
		}
		v.sum.NegativeStatuses[p.path] = status
		if !p.want(status) {
			if e := v.fail("GET %s: status %d, want %s (body %q)", p.path, status, p.desc, clip(body)); e != nil {
				return e
			}
			continue
		}
		v.sum.NegativeChecks++
	}
	return nil
}
