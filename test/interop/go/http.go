package main

// HTTP access to the log: a small fetcher and a tlog.TileReader over C2SP tile paths.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"
)

// ---------------------------------------------------------------------------
// HTTP

type fetcher struct {
	base     string
	client   *http.Client
	sem      chan struct{}
	requests int64
	gzipped  int64
}

func (f *fetcher) get(path string) (int, []byte, http.Header, error) {
	f.sem <- struct{}{}
	defer func() { <-f.sem }()
	atomic.AddInt64(&f.requests, 1)
	if _, err := url.Parse(f.base + path); err != nil {
		return 0, nil, nil, err
	}
	resp, err := f.client.Get(f.base + path)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	if resp.Uncompressed {
		// Go removed Content-Encoding while decompressing; keep a trace of it.
		atomic.AddInt64(&f.gzipped, 1)
		resp.Header.Set("X-Go-Content-Encoding", "gzip (decompressed by Go)")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading body: %v", err)
	}
	return resp.StatusCode, body, resp.Header, nil
}

func (v *verifier) getJSON(path string, out interface{}) error {
	status, body, hdr, err := v.http.get(path)
	if err != nil {
		return fmt.Errorf("GET %s: %v", path, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: status %d, want 200 (body %q)", path, status, clip(body))
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: bad JSON: %v (body %q)", path, err, clip(body))
	}
	return nil
}

// tileReader is a tlog.TileReader over the log's C2SP tile paths. It keeps every tile
// it fetched (tiles are immutable), so each is requested once.
type tileReader struct {
	f       *fetcher
	v       *verifier
	mu      sync.Mutex
	cache   map[tlog.Tile][]byte
	saved   map[tlog.Tile]bool
	hashes  int
	bundles int
}

func (r *tileReader) Height() int { return tileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) { return r.fetch(tiles) }

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range tiles {
		r.saved[t] = true
	}
}

func (r *tileReader) savedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.saved)
}

func (r *tileReader) fetchedCounts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hashes, r.bundles
}

// fetch returns the data of each tile, from the cache or by GET. It checks the status,
// the Content-Type and the exact length (W hashes for a hash tile).
func (r *tileReader) fetch(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	errs := make([]error, len(tiles))
	var wg sync.WaitGroup
	for k, t := range tiles {
		r.mu.Lock()
		d, ok := r.cache[t]
		r.mu.Unlock()
		if ok {
			out[k] = d
			continue
		}
		wg.Add(1)
		go func(k int, t tlog.Tile) {
			defer wg.Done()
			out[k], errs[k] = r.fetchOne(t)
		}(k, t)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *tileReader) fetchOne(t tlog.Tile) ([]byte, error) {
	p, err := c2spPath(t)
	if err != nil {
		return nil, err
	}
	status, body, hdr, err := r.f.get("/" + p)
	if err != nil {
		return nil, fmt.Errorf("GET /%s: %v", p, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /%s: status %d, want 200 (body %q)", p, status, clip(body))
	}
	if ct := hdr.Get("Content-Type"); ct != "application/octet-stream" {
		r.v.fail("GET /%s: Content-Type %q, want application/octet-stream", p, ct)
	}
	kind := "hash tile"
	if t.L < 0 {
		kind = "entry bundle"
	}
	r.v.noteHeader(kind+" Cache-Control", hdr.Get("Cache-Control"))
	r.v.noteHeader(kind+" Content-Encoding", hdr.Get("X-Go-Content-Encoding"))
	if t.L >= 0 && len(body) != t.W*tlog.HashSize {
		return nil, fmt.Errorf("GET /%s: %d bytes, want %d (%d hashes)", p, len(body), t.W*tlog.HashSize, t.W)
	}
	r.mu.Lock()
	r.cache[t] = body
	if t.L >= 0 {
		r.hashes++
	} else {
		r.bundles++
	}
	r.mu.Unlock()
	return body, nil
}

// ---------------------------------------------------------------------------
// Small helpers

// parallelDo runs f(0..n-1) on o.parallel workers and stops at the first error.
func (v *verifier) parallelDo(n int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		next  int64 = -1
		first error
		mu    sync.Mutex
	)
	for w := 0; w < v.o.parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := atomic.AddInt64(&next, 1)
				if k >= int64(n) {
					return
				}
				mu.Lock()
				stop := first != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := f(int(k)); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func mustPath(t tlog.Tile) string {
	p, err := c2spPath(t)
	if err != nil {
		return t.Path()
	}
	return p
}

func clip(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

func firstDiff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	for k := range got {
		if got[k] != want[k] {
			return fmt.Sprintf("first difference at byte %d (hash %d)", k, k/tlog.HashSize)
		}
	}
	return "identical"
}

func deref(p *int64) string {
	if p == nil {
		return "<missing>"
	}
	return strconv.FormatInt(*p, 10)
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
