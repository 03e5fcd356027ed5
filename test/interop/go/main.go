// Command candor-interop-verifier checks a running candor log against the Go
// ecosystem's reference implementation of transparency logs,
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog.
//
// It shares no code with candor. It fetches the signed checkpoint, the
// c2sp.org/tlog-tiles hash tiles and entry bundles, and candor's JSON proof
// API, recomputes everything with Go's tlog, and requires byte-for-byte
// agreement. See README.md in this directory.
//
// Exit status: 0 when every check passed, 1 when any check failed (each
// failure is printed as a "FAIL:" line on stderr), 2 for bad usage.
// The last line on stdout is a JSON summary.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	url        string
	vkey       string
	origin     string
	old        string
	receipts   string
	sample     int
	historical int
	full       bool
	seed       int64
	parallel   int
	maxFail    int
}

func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("candor-interop-verifier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	selftestFlag := fs.Bool("selftest", false, "only run the offline self-test (tile paths, bundles, checkpoint parsing) and exit")
	fs.StringVar(&o.url, "url", "", "base URL of the candor log, e.g. http://127.0.0.1:8080 (required)")
	fs.StringVar(&o.vkey, "vkey", "", "the log's note verifier key name+hash+base64, the trust anchor (required)")
	fs.StringVar(&o.origin, "origin", "", "if set, the checkpoint origin must equal this")
	fs.StringVar(&o.old, "old", "", "file holding an earlier checkpoint note of the same log, to check consistency and its partial tiles")
	fs.StringVar(&o.receipts, "receipts", "", "file holding a JSON array of {\"entry\": base64, \"receipt\": {...}} from POST /v1/entries, to verify offline")
	fs.IntVar(&o.sample, "sample", -1, "how many indices to check in full (proofs, /v1/entries); default: all when size <= 2000, else 500")
	fs.IntVar(&o.historical, "historical", 64, "how many extra (index, size) inclusion proofs and (from, to) consistency proofs at random past sizes to compare (needs -full)")
	fs.BoolVar(&o.full, "full", true, "fetch every entry bundle and rebuild the whole tree from the entries with tlog, comparing every hash tile")
	fs.Int64Var(&o.seed, "seed", 1, "seed for choosing sampled indices")
	fs.IntVar(&o.parallel, "parallel", 8, "concurrent HTTP requests")
	fs.IntVar(&o.maxFail, "max-failures", 50, "stop after this many failures")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *selftestFlag {
		fails := selftest()
		for _, f := range fails {
			fmt.Fprintf(stderr, "FAIL: selftest: %s\n", f)
		}
		if len(fails) > 0 {
			return 1
		}
		out, _ := json.Marshal(map[string]interface{}{"selftest": "ok", "xmodTileHashReaderAcceptsTamperedTile": tileHashReaderGap()})
		fmt.Fprintln(stdout, string(out))
		return 0
	}
	if o.url == "" || o.vkey == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: candor-interop-verifier -url URL -vkey VKEY [-old FILE] [-receipts FILE] [-sample N] [-origin NAME]")
		fs.PrintDefaults()
		return 2
	}
	if o.parallel < 1 {
		o.parallel = 1
	}
	v := newVerifier(o, stderr)
	start := time.Now()
	err := v.run()
	v.sum.ElapsedMs = time.Since(start).Milliseconds()
	v.sum.TilesAuthenticatedByGo = v.tiles.savedCount()
	if v.auth != nil {
		v.sum.FullTilesBoundToRoot = v.auth.checkCount
	}
	v.sum.HashTilesFetched, v.sum.BundlesFetched = v.tiles.fetchedCounts()
	v.sum.Requests = atomic.LoadInt64(&v.http.requests)
	v.sum.GzipResponses = atomic.LoadInt64(&v.http.gzipped)
	if err != nil && !errors.Is(err, errStop) {
		v.fail("%v", err)
	}
	v.sum.Failures = len(v.failures)
	v.sum.OK = len(v.failures) == 0
	for _, f := range v.failures {
		fmt.Fprintf(stderr, "FAIL: %s\n", f)
	}
	out, _ := json.Marshal(v.sum)
	fmt.Fprintln(stdout, string(out))
	if !v.sum.OK {
		return 1
	}
	return 0
}

// summary is printed as one JSON line at the end.
type summary struct {
	OK                        bool           `json:"ok"`
	Failures                  int            `json:"failures"`
	URL                       string         `json:"url"`
	Origin                    string         `json:"origin"`
	KeyName                   string         `json:"keyName"`
	Size                      int64          `json:"size"`
	Root                      string         `json:"root"`
	UnknownSignatures         int            `json:"unknownSignatures"`
	ExtensionLines            int            `json:"extensionLines"`
	HashTilesFetched          int            `json:"hashTilesFetched"`
	BundlesFetched            int            `json:"bundlesFetched"`
	TilesAuthenticatedByGo    int            `json:"tilesAuthenticatedByGo"`
	FullTilesBoundToRoot      int            `json:"fullTilesBoundToRoot"`
	EntriesRehashed           int64          `json:"entriesRehashed"`
	HashTilesRebuilt          int            `json:"hashTilesRebuilt"`
	IndicesChecked            int            `json:"indicesChecked"`
	InclusionProofsCompared   int            `json:"inclusionProofsCompared"`
	HistoricalInclusionProofs int            `json:"historicalInclusionProofsCompared"`
	ConsistencyProofsCompared int            `json:"consistencyProofsCompared"`
	EntriesCompared           int            `json:"entriesCompared"`
	OldSize                   *int64         `json:"oldSize,omitempty"`
	OldPartialTilesChecked    int            `json:"oldPartialTilesChecked"`
	ReceiptsChecked           int            `json:"receiptsChecked"`
	ReceiptTreesFromTiles     int            `json:"receiptTreesFromTiles"`
	NegativeChecks            int            `json:"negativeChecks"`
	NegativeStatuses          map[string]int `json:"negativeStatuses"`
	// Headers records informational response headers (first seen per kind of resource).
	Headers       map[string]string `json:"headers"`
	Requests      int64             `json:"requests"`
	GzipResponses int64             `json:"gzipResponses"`
	ElapsedMs     int64             `json:"elapsedMs"`
}

// errStop ends the run early: too many failures, or a failure later checks depend on.
// The failures themselves have been recorded with fail.
var errStop = errors.New("stopped")

type verifier struct {
	o        options
	stderr   io.Writer
	http     *fetcher
	tiles    *tileReader
	noteV    note.Verifier
	sum      summary
	mu       sync.Mutex
	failures []string

	tree    tlog.Tree
	hr      tlog.HashReader // TileHashReader for the current tree (Go's client path)
	auth    *authReader     // independent tile authenticator for the current tree (auth.go)
	mem     tlog.HashReader // every stored hash, rebuilt from the entries (nil without -full)
	stored  []tlog.Hash
	entries map[int64][]byte // entries read from bundles
	bundles map[int64][][]byte
	oldTree *tlog.Tree
}

func newVerifier(o options, stderr io.Writer) *verifier {
	f := &fetcher{
		base: strings.TrimRight(o.url, "/"),
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        64,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     30 * time.Second,
				// DisableCompression stays false: Go asks for gzip and transparently
				// decompresses, as the brief allows; resp.Uncompressed counts it.
			},
		},
		sem: make(chan struct{}, o.parallel),
	}
	v := &verifier{
		o:       o,
		stderr:  stderr,
		http:    f,
		entries: map[int64][]byte{},
		bundles: map[int64][][]byte{},
	}
	v.tiles = &tileReader{f: f, v: v, cache: map[tlog.Tile][]byte{}, saved: map[tlog.Tile]bool{}}
	v.sum.URL = f.base
	v.sum.NegativeStatuses = map[string]int{}
	v.sum.Headers = map[string]string{}
	return v
}

// fail records a failure. It returns errStop once the limit is reached.
func (v *verifier) fail(format string, args ...interface{}) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.failures = append(v.failures, fmt.Sprintf(format, args...))
	if len(v.failures) >= v.o.maxFail {
		return errStop
	}
	return nil
}

// noteHeader records an informational header value the first time it is seen.
func (v *verifier) noteHeader(key, value string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if value == "" {
		value = "(none)"
	}
	if _, ok := v.sum.Headers[key]; !ok {
		v.sum.Headers[key] = value
	}
}

func (v *verifier) run() error {
	// 1. The trust anchor and /v1/info.
	noteV, err := note.NewVerifier(v.o.vkey)
	if err != nil {
		return fmt.Errorf("-vkey %q is not a valid note verifier key: %v", v.o.vkey, err)
	}
	v.noteV = noteV
	v.sum.KeyName = noteV.Name()

	info, err := v.fetchInfo()
	if err != nil {
		return err
	}

	// 2. The checkpoint.
	status, body, hdr, err := v.http.get("/checkpoint")
	if err != nil {
		return fmt.Errorf("GET /checkpoint: %v", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET /checkpoint: status %d, want 200 (body %q)", status, clip(body))
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		v.fail("GET /checkpoint: Content-Type %q, want %q (c2sp.org/tlog-tiles)", ct, "text/plain; charset=utf-8")
	}
	v.noteHeader("checkpoint Cache-Control", hdr.Get("Cache-Control"))
	cp, unknownSigs, err := v.openCheckpoint(body, "GET /checkpoint")
	if err != nil {
		return err
	}
	v.tree = cp.Tree
	v.sum.Origin = cp.Origin
	v.sum.Size = cp.Tree.N
	v.sum.Root = cp.Tree.Hash.String()
	v.sum.UnknownSignatures = unknownSigs
	v.sum.ExtensionLines = len(cp.Extensions)
	if v.o.origin != "" && cp.Origin != v.o.origin {
		v.fail("checkpoint origin %q, want %q (-origin)", cp.Origin, v.o.origin)
	}
	if info.Origin != cp.Origin {
		v.fail("/v1/info origin %q differs from the checkpoint origin %q", info.Origin, cp.Origin)
	}
	if info.Size != cp.Tree.N || info.RootHash != cp.Tree.Hash.String() {
		v.fail("/v1/info says size %d root %s but /checkpoint says size %d root %s (the log must be quiescent while verified)",
			info.Size, info.RootHash, cp.Tree.N, cp.Tree.Hash)
	}
	if info.Checkpoint != "" && info.Checkpoint != string(body) && info.Size == cp.Tree.N {
		v.fail("/v1/info checkpoint differs from GET /checkpoint at the same size:\n%q\n%q", info.Checkpoint, body)
	}

	// 3. Tree hash from the tiles, through Go's authenticating TileHashReader.
	if cp.Tree.N == 0 {
		empty := sha256.Sum256(nil)
		if cp.Tree.Hash != tlog.Hash(empty) {
			v.fail("size-0 checkpoint root %s, want SHA-256 of the empty string %s (RFC 6962 MTH of an empty tree)", cp.Tree.Hash, tlog.Hash(empty))
		}
	} else {
		v.hr = tlog.TileHashReader(cp.Tree, v.tiles)
		th, err := tlog.TreeHash(cp.Tree.N, v.hr)
		if err == nil && th != cp.Tree.Hash {
			err = fmt.Errorf("= %s, checkpoint root %s", th, cp.Tree.Hash)
		}
		if err != nil {
			v.fail("tlog.TreeHash(%d) over the served tiles through tlog.TileHashReader: %v", cp.Tree.N, err)
			if v.o.full {
				// Rebuilding from the entries names the tiles that are wrong.
				if err := v.rebuild(); err != nil && !errors.Is(err, errStop) {
					v.fail("%v", err)
				}
			}
			return errStop
		}
		// The same, through the independent authenticator (see auth.go for why).
		v.auth = newAuthReader(cp.Tree, v.tiles.fetch)
		if _, err := v.auth.ReadHashes(nil); err != nil {
			v.fail("independent tile authentication against the checkpoint root: %v", err)
			return errStop
		}
	}

	// 4. Full rebuild from the entries.
	if v.o.full && cp.Tree.N > 0 {
		if err := v.rebuild(); err != nil {
			return err
		}
	}

	// 5. Sampled indices: entries, leaf hashes, proofs, /v1/entries.
	if cp.Tree.N > 0 {
		if err := v.checkIndices(); err != nil {
			return err
		}
	}

	// 6. The earlier checkpoint.
	if v.o.old != "" {
		if err := v.checkOld(); err != nil {
			return err
		}
	}

	// 7. Historical proofs at random past sizes, against the rebuilt tree.
	if v.mem != nil && v.o.historical > 0 {
		if err := v.checkHistorical(); err != nil {
			return err
		}
	}

	// 8. Receipts.
	if v.o.receipts != "" {
		if err := v.checkReceipts(); err != nil {
			return err
		}
	}

	// 9. Negative behaviour.
	if err := v.checkNegative(); err != nil {
		return err
	}
	return nil
}

// ---------------------------------------------------------------------------
// /v1/info and checkpoints

type infoJSON struct {
	Origin      string `json:"origin"`
	VerifierKey string `json:"verifierKey"`
	Size        int64  `json:"size"`
	RootHash    string `json:"rootHash"`
	Checkpoint  string `json:"checkpoint"`
}

func (v *verifier) fetchInfo() (infoJSON, error) {
	var info infoJSON
	status, body, hdr, err := v.http.get("/v1/info")
	if err != nil {
		return info, fmt.Errorf("GET /v1/info: %v", err)
	}
	if status != http.StatusOK {
		return info, fmt.Errorf("GET /v1/info: status %d, want 200 (body %q)", status, clip(body))
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		v.fail("GET /v1/info: Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return info, fmt.Errorf("GET /v1/info: bad JSON: %v (body %q)", err, clip(body))
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"origin", "verifierKey", "size", "rootHash"} {
		if _, ok := raw[k]; !ok {
			v.fail("GET /v1/info: field %q missing (body %q)", k, clip(body))
		}
	}
	if info.VerifierKey != v.o.vkey {
		v.fail("GET /v1/info verifierKey %q differs from the trust anchor -vkey %q", info.VerifierKey, v.o.vkey)
	}
	if _, err := parseCanonicalHash(info.RootHash); err != nil {
		v.fail("GET /v1/info rootHash %q: %v", info.RootHash, err)
	}
	return info, nil
}

// openCheckpoint verifies a checkpoint note with the log's key (ignoring unknown
// signatures, as note.Open does) and parses its text strictly.
func (v *verifier) openCheckpoint(msg []byte, what string) (checkpoint, int, error) {
	n, err := note.Open(msg, note.VerifierList(v.noteV))
	if err != nil {
		return checkpoint{}, 0, fmt.Errorf("%s: note.Open with %s: %v (note %q)", what, v.o.vkey, err, clip(msg))
	}
	signed := false
	for _, s := range n.Sigs {
		if s.Name == v.noteV.Name() && s.Hash == v.noteV.KeyHash() {
			signed = true
		}
	}
	if !signed {
		return checkpoint{}, 0, fmt.Errorf("%s: no verified signature by %s", what, v.noteV.Name())
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return checkpoint{}, 0, fmt.Errorf("%s: %v (text %q)", what, err, n.Text)
	}
	return cp, len(n.UnverifiedSigs), nil
}
