package main

// Pure formatting helpers: C2SP tlog-tiles paths, entry bundles and checkpoint bodies.
// Nothing here talks to the network, so selftest.go can check it against the
// worked examples in the specification digest (docs/specs.md §3, §5, §8).

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is fixed by c2sp.org/tlog-tiles.
const tileHeight = 8

// tileWidth is the number of hashes (or entries) in a full tile.
const tileWidth = 1 << tileHeight

// c2spPath converts a Go sumdb tile (height 8) to its c2sp.org/tlog-tiles path:
//
//	tile/8/<L>/<N>[.p/<W>]    -> tile/<L>/<N>[.p/<W>]
//	tile/8/data/<N>[.p/<W>]   -> tile/entries/<N>[.p/<W>]
//
// The N encoding and the partial-width suffix are left exactly as Go writes them.
func c2spPath(t tlog.Tile) (string, error) {
	if t.H != tileHeight {
		return "", fmt.Errorf("tile %v has height %d; tlog-tiles only has height %d", t, t.H, tileHeight)
	}
	goPath := t.Path()
	rest := strings.TrimPrefix(goPath, "tile/8/")
	if rest == goPath {
		return "", fmt.Errorf("unexpected Go tile path %q", goPath)
	}
	if strings.HasPrefix(rest, "data/") {
		rest = "entries/" + strings.TrimPrefix(rest, "data/")
	}
	return "tile/" + rest, nil
}

// parseC2SPPath is the inverse of c2spPath. It accepts only canonical paths, because it
// round-trips through tlog.ParseTilePath, which insists on the canonical form.
func parseC2SPPath(p string) (tlog.Tile, error) {
	rest := strings.TrimPrefix(p, "tile/")
	if rest == p {
		return tlog.Tile{}, fmt.Errorf("not a tile path: %q", p)
	}
	var goPath string
	switch {
	case strings.HasPrefix(rest, "entries/"):
		goPath = "tile/8/data/" + strings.TrimPrefix(rest, "entries/")
	case strings.HasPrefix(rest, "data/"):
		// static-ct-api's data tiles, or Go's own spelling: not tlog-tiles.
		return tlog.Tile{}, fmt.Errorf("not a tlog-tiles path (data, not entries): %q", p)
	default:
		goPath = "tile/8/" + rest
	}
	// Go accepts levels up to 63 but also writes them without leading zeros,
	// and ParseTilePath re-serialises and compares, so "00" or "+1" are rejected.
	t, err := tlog.ParseTilePath(goPath)
	if err != nil {
		return tlog.Tile{}, fmt.Errorf("malformed tile path %q: %v", p, err)
	}
	if back, _ := c2spPath(t); back != p {
		return tlog.Tile{}, fmt.Errorf("non-canonical tile path %q (canonical %q)", p, back)
	}
	return t, nil
}

// hashTile returns the hash tile at level l, index n, with the width it has in a tree
// of the given size (full, or partial at the right edge). ok is false when the tile
// does not exist in that tree (width 0 or beyond the edge).
func hashTile(size int64, l int, n int64) (t tlog.Tile, ok bool) {
	return sizedTile(size, l, n)
}

// dataTile is hashTile for the entry bundle n (Go's level -1).
func dataTile(size int64, n int64) (t tlog.Tile, ok bool) {
	return sizedTile(size, -1, n)
}

func sizedTile(size int64, l int, n int64) (tlog.Tile, bool) {
	shift := uint(0)
	if l > 0 {
		shift = uint(l * tileHeight)
	}
	if l > 0 && shift >= 63 {
		return tlog.Tile{}, false
	}
	count := size >> shift // hashes at tree level 8*l (entries for l = -1 or 0)
	start := n * tileWidth
	if n < 0 || start >= count {
		return tlog.Tile{}, false
	}
	w := count - start
	if w > tileWidth {
		w = tileWidth
	}
	return tlog.Tile{H: tileHeight, L: l, N: n, W: int(w)}, true
}

// treeTiles lists every hash tile (levels >= 0) of a tree of the given size, with the
// partial tiles at the widths that size implies. It agrees with tlog.NewTiles(8, 0, size);
// it is written out separately so that the self-test can compare the two.
func treeTiles(size int64) []tlog.Tile {
	var tiles []tlog.Tile
	for l := 0; l < 8; l++ {
		found := false
		for n := int64(0); ; n++ {
			t, ok := hashTile(size, l, n)
			if !ok {
				break
			}
			found = true
			tiles = append(tiles, t)
		}
		if !found {
			break
		}
	}
	return tiles
}

// edgeTiles lists only the partial tiles (data and hash) of a tree of the given size:
// the ones a log must keep serving for every checkpoint size it published.
func edgeTiles(size int64) []tlog.Tile {
	var tiles []tlog.Tile
	if w := size % tileWidth; w != 0 {
		tiles = append(tiles, tlog.Tile{H: tileHeight, L: -1, N: size / tileWidth, W: int(w)})
	}
	for l := 0; l < 8; l++ {
		shift := uint(l * tileHeight)
		count := size >> shift
		if count == 0 {
			break
		}
		if w := count % tileWidth; w != 0 {
			tiles = append(tiles, tlog.Tile{H: tileHeight, L: l, N: count / tileWidth, W: int(w)})
		}
	}
	return tiles
}

// parseBundle splits a tlog-tiles entry bundle into its entries. Each entry is a
// big-endian uint16 length followed by that many bytes. The bundle must hold exactly
// want entries and nothing after the last one.
func parseBundle(data []byte, want int) ([][]byte, error) {
	var entries [][]byte
	off := 0
	for off < len(data) {
		if len(entries) == want {
			return nil, fmt.Errorf("bundle has %d trailing bytes after its %d entries", len(data)-off, want)
		}
		if off+2 > len(data) {
			return nil, fmt.Errorf("bundle truncated inside the length prefix of entry %d (offset %d of %d)", len(entries), off, len(data))
		}
		n := int(data[off])<<8 | int(data[off+1])
		off += 2
		if off+n > len(data) {
			return nil, fmt.Errorf("bundle entry %d claims %d bytes but only %d remain", len(entries), n, len(data)-off)
		}
		entries = append(entries, data[off:off+n:off+n])
		off += n
	}
	if len(entries) != want {
		return nil, fmt.Errorf("bundle holds %d entries, want %d", len(entries), want)
	}
	return entries, nil
}

// formatBundle is the inverse of parseBundle (used only by the self-test).
func formatBundle(entries [][]byte) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteByte(byte(len(e) >> 8))
		b.WriteByte(byte(len(e)))
		b.Write(e)
	}
	return b.Bytes()
}

// checkpoint is a parsed c2sp.org/tlog-checkpoint body.
type checkpoint struct {
	Origin     string
	Tree       tlog.Tree
	Extensions []string
}

// parseCheckpoint parses a checkpoint note's text strictly:
// origin, size in canonical decimal (no leading zeros, fits in int64), and a
// canonical standard-base64 32-byte root, each on its own line, then optional
// non-empty extension lines. tlog.ParseTree is deliberately not used: it only
// accepts the sumdb "go.sum database tree" header.
func parseCheckpoint(text string) (checkpoint, error) {
	if len(text) > 1<<20 {
		return checkpoint{}, errors.New("checkpoint text larger than 1 MB")
	}
	if !strings.HasSuffix(text, "\n") {
		return checkpoint{}, errors.New("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, fmt.Errorf("checkpoint text has %d lines, want at least 3", len(lines))
	}
	origin, sizeText, rootText := lines[0], lines[1], lines[2]
	if origin == "" {
		return checkpoint{}, errors.New("checkpoint origin line is empty")
	}
	size, err := parseCanonicalDecimal(sizeText)
	if err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint size line %q: %v", sizeText, err)
	}
	root, err := parseCanonicalHash(rootText)
	if err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint root line %q: %v", rootText, err)
	}
	ext := lines[3:]
	for i, e := range ext {
		if e == "" {
			return checkpoint{}, fmt.Errorf("checkpoint extension line %d is empty", i+1)
		}
	}
	return checkpoint{Origin: origin, Tree: tlog.Tree{N: size, Hash: root}, Extensions: ext}, nil
}

// parseCanonicalDecimal accepts "0" or a decimal without leading zeros that fits in int64.
func parseCanonicalDecimal(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("out of range: %v", err)
	}
	if strconv.FormatInt(n, 10) != s {
		return 0, errors.New("not canonical (leading zeros)")
	}
	return n, nil
}

// parseCanonicalHash decodes canonical standard base64 (with padding, zero padding
// bits) of exactly 32 bytes.
func parseCanonicalHash(s string) (tlog.Hash, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("bad base64: %v", err)
	}
	if len(b) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("hash is %d bytes, want %d", len(b), tlog.HashSize)
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return tlog.Hash{}, errors.New("base64 is not canonical")
	}
	var h tlog.Hash
	copy(h[:], b)
	return h, nil
}
