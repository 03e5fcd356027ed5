package main

// Self-test of the offline pieces (tile paths, bundles, checkpoint parsing) against the
// worked examples of the specification digest. Run with `-selftest` or `go test`.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// selftest returns the list of failed checks (empty when all pass).
func selftest() []string {
	var fails []string
	fail := func(format string, args ...interface{}) { fails = append(fails, fmt.Sprintf(format, args...)) }

	// §5: N encoding, derived examples.
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "tile/0/000"}, {1, "tile/0/001"}, {999, "tile/0/999"}, {1000, "tile/0/x001/000"},
		{1234067, "tile/0/x001/x234/067"}, {256000000, "tile/0/x256/x000/000"},
	} {
		got, err := c2spPath(tlog.Tile{H: 8, L: 0, N: c.n, W: 256})
		if err != nil || got != c.want {
			fail("c2spPath(N=%d) = %q, %v; want %q", c.n, got, err, c.want)
		}
		back, err := parseC2SPPath(c.want)
		if err != nil || back != (tlog.Tile{H: 8, L: 0, N: c.n, W: 256}) {
			fail("parseC2SPPath(%q) = %+v, %v", c.want, back, err)
		}
	}
	for _, c := range []struct {
		t    tlog.Tile
		want string
	}{
		{tlog.Tile{H: 8, L: -1, N: 0, W: 8}, "tile/entries/000.p/8"},
		{tlog.Tile{H: 8, L: -1, N: 1234, W: 256}, "tile/entries/x001/234"},
		{tlog.Tile{H: 8, L: 0, N: 273, W: 112}, "tile/0/273.p/112"},
		{tlog.Tile{H: 8, L: 1, N: 1, W: 17}, "tile/1/001.p/17"},
		{tlog.Tile{H: 8, L: 2, N: 0, W: 1}, "tile/2/000.p/1"},
		{tlog.Tile{H: 8, L: 63, N: 0, W: 255}, "tile/63/000.p/255"},
	} {
		got, err := c2spPath(c.t)
		if err != nil || got != c.want {
			fail("c2spPath(%+v) = %q, %v; want %q", c.t, got, err, c.want)
		}
		back, err := parseC2SPPath(c.want)
		if err != nil || back != c.t {
			fail("parseC2SPPath(%q) = %+v, %v; want %+v", c.want, back, err, c.t)
		}
	}
	if _, err := c2spPath(tlog.Tile{H: 4, L: 0, N: 0, W: 16}); err == nil {
		fail("c2spPath accepted a height-4 tile")
	}
	// Non-canonical or foreign paths must be rejected.
	for _, p := range []string{
		"tile/0/0", "tile/0/0000", "tile/0/x000/000", "tile/0/001/000", "tile/0/x1/000",
		"tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/08", "tile/00/000", "tile/-1/000",
		"tile/data/000", "tile/8/0/000", "tile/entries/000.p/256", "tile/0/000/", "tiles/0/000",
	} {
		if t, err := parseC2SPPath(p); err == nil {
			fail("parseC2SPPath(%q) accepted a non-canonical path as %+v", p, t)
		}
	}

	// §5: tile sets for tree sizes.
	wantSets := map[int64][]string{
		256:   {"tile/0/000", "tile/1/000.p/1"},
		65536: {"tile/1/000", "tile/2/000.p/1"},
		70000: {"tile/0/273.p/112", "tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"},
	}
	wantCounts := map[int64]int{256: 2, 65536: 256 + 1 + 1, 70000: 273 + 1 + 1 + 1 + 1}
	for size, want := range wantSets {
		tiles := treeTiles(size)
		if len(tiles) != wantCounts[size] {
			fail("treeTiles(%d) has %d tiles, want %d", size, len(tiles), wantCounts[size])
		}
		paths := map[string]bool{}
		for _, t := range tiles {
			p, _ := c2spPath(t)
			paths[p] = true
		}
		for _, w := range want {
			if !paths[w] {
				fail("treeTiles(%d) lacks %s", size, w)
			}
		}
		goTiles := widest(tlog.NewTiles(8, 0, size))
		if !sameTileSet(tiles, goTiles) {
			fail("treeTiles(%d) disagrees with tlog.NewTiles(8, 0, %d)", size, size)
		}
	}
	for _, size := range []int64{1, 2, 255, 257, 511, 512, 65535, 65537, 33333, 66004, 16777216, 16777217} {
		if !sameTileSet(treeTiles(size), widest(tlog.NewTiles(8, 0, size))) {
			fail("treeTiles(%d) disagrees with tlog.NewTiles", size)
		}
	}
	if got := edgeTiles(70000); !reflect.DeepEqual(got, []tlog.Tile{
		{H: 8, L: -1, N: 273, W: 112}, {H: 8, L: 0, N: 273, W: 112}, {H: 8, L: 1, N: 1, W: 17}, {H: 8, L: 2, N: 0, W: 1},
	}) {
		fail("edgeTiles(70000) = %v", got)
	}
	if got := edgeTiles(65536); !reflect.DeepEqual(got, []tlog.Tile{{H: 8, L: 2, N: 0, W: 1}}) {
		fail("edgeTiles(65536) = %v", got)
	}

	// §5 / §8.1: the 8-leaf bundle and its level-0 tile.
	bundle, _ := hex.DecodeString("00000001000001100002202100023031000440414243000850515253545556570010606162636465666768696a6b6c6d6e6f")
	leaves := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	entries, err := parseBundle(bundle, 8)
	if err != nil {
		fail("parseBundle(§5 example): %v", err)
	} else {
		var tileData []byte
		var stored []tlog.Hash
		mem := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(ix))
			for i, x := range ix {
				out[i] = stored[x]
			}
			return out, nil
		})
		for i, e := range entries {
			if hex.EncodeToString(e) != leaves[i] {
				fail("bundle entry %d = %x, want %s", i, e, leaves[i])
			}
			h := tlog.RecordHash(e)
			tileData = append(tileData, h[:]...)
			hs, err := tlog.StoredHashesForRecordHash(int64(i), h, mem)
			if err != nil {
				fail("StoredHashes: %v", err)
				break
			}
			stored = append(stored, hs...)
		}
		if !bytes.Equal(formatBundle(entries), bundle) {
			fail("formatBundle does not round-trip the §5 example")
		}
		if sum := sha256.Sum256(tileData); hex.EncodeToString(sum[:]) != "aea2f1bbb5140fd5f8eacb503fdf54c00c3d860c72588e40233addd416bc8f10" {
			fail("SHA-256 of tile/0/000.p/8 = %x", sum)
		}
		if len(stored) == int(tlog.StoredHashCount(8)) {
			td, err := tlog.ReadTileData(tlog.Tile{H: 8, L: 0, N: 0, W: 8}, mem)
			if err != nil || !bytes.Equal(td, tileData) {
				fail("ReadTileData(tile/0/000.p/8) disagrees: %v", err)
			}
			root, err := tlog.TreeHash(8, mem)
			if err != nil || root.String() != "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=" {
				fail("TreeHash(8) = %v, %v", root, err)
			}
			p, err := tlog.ProveRecord(8, 5, mem)
			want := []string{"vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="}
			if err != nil || !sameHashes(p, want) {
				fail("ProveRecord(8, 5) = %v, %v", p, err)
			}
			tp, err := tlog.ProveTree(8, 6, mem)
			want = []string{"DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="}
			if err != nil || !sameHashes(tp, want) {
				fail("ProveTree(8, 6) = %v, %v", tp, err)
			}
		} else {
			fail("stored %d hashes for 8 records, want %d", len(stored), tlog.StoredHashCount(8))
		}
	}
	// Bundle negatives.
	for name, c := range map[string]struct {
		data []byte
		want int
	}{
		"trailing byte":       {append(append([]byte{}, bundle...), 0), 8},
		"truncated prefix":    {bundle[:len(bundle)-17], 8},
		"truncated entry":     {bundle[:len(bundle)-1], 8},
		"too few entries":     {bundle, 9},
		"too many entries":    {bundle, 7},
		"empty, want one":     {nil, 1},
		"half length prefix":  {[]byte{0}, 1},
		"length past the end": {[]byte{0xff, 0xff, 1, 2, 3}, 1},
	} {
		if _, err := parseBundle(c.data, c.want); err == nil {
			fail("parseBundle accepted a bundle with %s", name)
		}
	}
	if e, err := parseBundle(formatBundle([][]byte{make([]byte, 65535), {}}), 2); err != nil || len(e[0]) != 65535 || len(e[1]) != 0 {
		fail("parseBundle(65535-byte and empty entries) = %v", err)
	}

	// §8.2: a complete checkpoint note.
	vkey := "example.com/testlog+3814a360+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
	msg := "example.com/testlog\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n" +
		"— example.com/testlog OBSjYCxDpu8fyr7NuKXgNXWu25Ks4wrlnX0eQ6wwwqxrq024FLZEvzeTT+bFbmvjSu2f7p78iGvweJAOSG9YRH8huA0=\n"
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("NewVerifier(§8.2 vkey): %v", err)
	} else {
		// An unknown witness line must be ignored.
		withWitness := msg + "— witness.example/w1 zJpwRAAAAABkGFDLcYi7M5vNiPX13OdYnOc3KT0Pet29CaRC0wiUYZK6wGoRB3Hm1NiveieDjjziesoFgTox1UrHDAs0IVVzXUY+CA==\n"
		for _, m := range []string{msg, withWitness} {
			n, err := note.Open([]byte(m), note.VerifierList(v))
			if err != nil {
				fail("note.Open(§8.2 checkpoint): %v", err)
				continue
			}
			cp, err := parseCheckpoint(n.Text)
			if err != nil || cp.Origin != "example.com/testlog" || cp.Tree.N != 8 || cp.Tree.Hash.String() != "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=" {
				fail("parseCheckpoint(§8.2) = %+v, %v", cp, err)
			}
		}
		bad := []byte(msg)
		bad[len("example.com/testlog\n")] = '9'
		if _, err := note.Open(bad, note.VerifierList(v)); err == nil {
			fail("note.Open accepted a checkpoint with an altered size")
		}
	}
	// §3: strict checkpoint parsing.
	root := "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
	for _, text := range []string{
		"o\n08\n" + root + "\n",
		"o\n-8\n" + root + "\n",
		"o\n+8\n" + root + "\n",
		"o\n 8\n" + root + "\n",
		"o\n9223372036854775808\n" + root + "\n",
		"o\n8\n" + root,
		"o\n8\n" + root + "\n\n",
		"o\n8\n" + root + "\next\n\n",
		"\n8\n" + root + "\n",
		"o\n8\n",
		"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n", // non-zero padding bits
		"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n",  // no padding
		"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n", // URL alphabet
		"o\n8\nAAAA\n",
	} {
		if cp, err := parseCheckpoint(text); err == nil {
			fail("parseCheckpoint(%q) accepted: %+v", text, cp)
		}
	}
	if cp, err := parseCheckpoint("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n"); err != nil || cp.Tree.N != 0 || len(cp.Extensions) != 1 {
		fail("parseCheckpoint(size 0 with an extension) = %+v, %v", cp, err)
	}
	if cp, err := parseCheckpoint("o\n9223372036854775807\n" + root + "\n"); err != nil || cp.Tree.N != 9223372036854775807 {
		fail("parseCheckpoint(max int64) = %+v, %v", cp, err)
	}
	// auth.go: the independent authenticator accepts honest tiles and rejects a tampered
	// full tile that tlog.TileHashReader lets through (see tileHashReaderGap).
	for _, f := range authSelftest() {
		fail("%s", f)
	}
	return fails
}

// memTree builds the stored hashes of a tree of n synthetic records.
func memTree(n int64) (tlog.Tree, tlog.HashReader) {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			if x >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	for i := int64(0); i < n; i++ {
		hs, err := tlog.StoredHashes(i, []byte(fmt.Sprintf("record %d", i)), r)
		if err != nil {
			panic(err)
		}
		stored = append(stored, hs...)
	}
	th, err := tlog.TreeHash(n, r)
	if err != nil {
		panic(err)
	}
	return tlog.Tree{N: n, Hash: th}, r
}

// memTiles serves the tiles of a tree from its stored hashes, optionally flipping one
// bit of the first hash of one tile.
type memTiles struct {
	r      tlog.HashReader
	tamper tlog.Tile
}

func (m memTiles) Height() int { return tileHeight }

func (m memTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for k, t := range tiles {
		d, err := tlog.ReadTileData(t, m.r)
		if err != nil {
			return nil, err
		}
		if t == m.tamper {
			d[5] ^= 1
		}
		out[k] = d
	}
	return out, nil
}

func (m memTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func authSelftest() []string {
	var fails []string
	tree, mem := memTree(3000)
	target := tlog.Tile{H: 8, L: 0, N: 3, W: 256} // leaves 768..1023
	leaf768 := tlog.StoredHashIndex(0, 768)
	honest := newAuthReader(tree, memTiles{r: mem}.ReadTiles)
	for _, i := range []int64{0, 255, 256, 768, 2047, 2048, 2815, 2816, 2999} {
		p, err1 := tlog.ProveRecord(tree.N, i, honest)
		q, err2 := tlog.ProveRecord(tree.N, i, mem)
		if err1 != nil || err2 != nil || !equalHashes(p, q) {
			fails = append(fails, fmt.Sprintf("authReader: ProveRecord(3000, %d) = %v, %v; want %v", i, p, err1, q))
		}
	}
	for _, old := range []int64{1, 255, 256, 257, 1500, 2999, 3000} {
		p, err1 := tlog.ProveTree(tree.N, old, honest)
		q, err2 := tlog.ProveTree(tree.N, old, mem)
		if err1 != nil || err2 != nil || !equalHashes(p, q) {
			fails = append(fails, fmt.Sprintf("authReader: ProveTree(3000, %d) = %v, %v; want %v", old, p, err1, q))
		}
	}
	tampered := newAuthReader(tree, memTiles{r: mem, tamper: target}.ReadTiles)
	if h, err := tampered.ReadHashes([]int64{leaf768}); err == nil {
		fails = append(fails, fmt.Sprintf("authReader accepted a tampered tile/0/003 (leaf 768 = %v)", h))
	}
	edge := tlog.Tile{H: 8, L: 1, N: 0, W: 11}
	if h, err := newAuthReader(tree, memTiles{r: mem, tamper: edge}.ReadTiles).ReadHashes(nil); err == nil {
		fails = append(fails, fmt.Sprintf("authReader accepted a tampered edge tile (%v)", h))
	}
	return fails
}

// tileHashReaderGap reports whether tlog.TileHashReader returns a hash from a tampered
// full tile (true for golang.org/x/mod v0.7.0; see auth.go).
func tileHashReaderGap() bool {
	tree, mem := memTree(3000)
	hr := tlog.TileHashReader(tree, memTiles{r: mem, tamper: tlog.Tile{H: 8, L: 0, N: 3, W: 256}})
	got, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, 768), tlog.StoredHashIndex(0, 777)})
	if err != nil {
		return false
	}
	want, _ := mem.ReadHashes([]int64{tlog.StoredHashIndex(0, 768)})
	return got[0] != want[0]
}

// widest keeps, for each tile position, only the widest tile. tlog.NewTiles lists every
// partial width from 1 up (sumdb publishes them all); a tree has only the widest.
func widest(tiles []tlog.Tile) []tlog.Tile {
	type pos struct {
		l int
		n int64
	}
	w := map[pos]tlog.Tile{}
	var order []pos
	for _, t := range tiles {
		k := pos{t.L, t.N}
		old, ok := w[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || t.W > old.W {
			w[k] = t
		}
	}
	out := make([]tlog.Tile, 0, len(order))
	for _, k := range order {
		out = append(out, w[k])
	}
	return out
}

func sameTileSet(a, b []tlog.Tile) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[tlog.Tile]int{}
	for _, t := range a {
		seen[t]++
	}
	for _, t := range b {
		seen[t]--
	}
	for _, c := range seen {
		if c != 0 {
			return false
		}
	}
	return true
}

func sameHashes(p []tlog.Hash, want []string) bool {
	if len(p) != len(want) {
		return false
	}
	for i := range p {
		if p[i].String() != want[i] {
			return false
		}
	}
	return true
}
