/**
 * Interop vectors for notes, checkpoints and cosignatures, copied as data from
 * /work/shared/docs/specs.md §2.6 and §8.2 (C2SP signed-note spec example, Go
 * golang.org/x/mod/sumdb/note test keys, litetlog's Sigsum checkpoint, and the derived
 * log-plus-witness example).
 */

/** C2SP signed-note spec example. */
export const C2SP = {
  vkey: 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
  publicKeyHex: 'e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4',
  text: 'This is an example message.\n',
  line: '— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n',
};

/** Go sumdb/note test keys (note_test.go). */
export const GO = {
  skey: 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz',
  seedHex: '810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173',
  vkey: 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  publicKeyHex: '1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6',
  text: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
  line: '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n',
  enochVkey: 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop',
  enochLine: '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n',
  badVkeys: [
    // Wrong key length.
    'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==',
    // Unknown algorithm.
    'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  ],
};

const SIGSUM_ORIGIN =
  'sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562';

/** A real Sigsum log checkpoint pair (litetlog cmd/litewitness/testdata/litewitness.txt). */
export const SIGSUM = {
  origin: SIGSUM_ORIGIN,
  publicKeyHex: 'ffdc2d4d98e4124d3feaf788c0c2f9abfd796083d1f0495437f302ec79cf100f',
  vkey: `${SIGSUM_ORIGIN}+5202289b+Af/cLU2Y5BJNP+r3iMDC+av9eWCD0fBJVDfzAux5zxAP`,
  notes: [
    {
      size: 1,
      text: `${SIGSUM_ORIGIN}\n1\nKgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n`,
      line: `— ${SIGSUM_ORIGIN} UgIom7fPZTqpxWWhyjWduBvTvGVqsokMbqTArsQilegKoFBJQjUFAmQ0+YeSPM3wfUQMFSzVnnNuWRTYrajXpNUbIQY=\n`,
    },
    {
      size: 3,
      text: `${SIGSUM_ORIGIN}\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n`,
      line: `— ${SIGSUM_ORIGIN} UgIom2VbtIcdFbwFAy1n7s6IkAxIY6J/GQOTuZF2ORV39d75cbAj2aQYwyJre36kezNobZs4SUUdrcawfAB8WVrx6go=\n`,
    },
  ],
};

/** The derived log-plus-witness example of specs §8.2 (both keys use the Go test seed). */
export const LOG = {
  skey: 'PRIVATE+KEY+example.com/testlog+3814a360+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz',
  vkey: 'example.com/testlog+3814a360+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  origin: 'example.com/testlog',
  size: 8,
  rootBase64: 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=',
  text: 'example.com/testlog\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n',
  line: '— example.com/testlog OBSjYCxDpu8fyr7NuKXgNXWu25Ks4wrlnX0eQ6wwwqxrq024FLZEvzeTT+bFbmvjSu2f7p78iGvweJAOSG9YRH8huA0=\n',
};

export const WITNESS = {
  name: 'witness.example/w1',
  vkey: 'witness.example/w1+cc9a7044+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  keyIdHex: 'cc9a7044',
  keyIdOverType1Hex: 'a7f07fd6',
  time: 1679315147,
  line: '— witness.example/w1 zJpwRAAAAABkGFDLcYi7M5vNiPX13OdYnOc3KT0Pet29CaRC0wiUYZK6wGoRB3Hm1NiveieDjjziesoFgTox1UrHDAs0IVVzXUY+CA==\n',
};

/** Real vkeys with re-derived key IDs. */
export const REAL = {
  sumdb: 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8',
  sumdbCosignatureIdHex: '4c98ea03',
  remora: 'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2',
  quietHill: 'DEV:ArmoredWitness-quiet-hill+36ccdbc6+AYla/cX7GRGOIBg9nM9PFZANcMLAR2XLR0nD9V8siErf',
  quietHillCosignatureIdHex: 'b0162763',
};

/** The checkpoint body used in the tlog-cosignature spec example. */
export const SPEC_COSIG = {
  text: 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
  message:
    'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
  line: '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n',
  keyIdHex: '8d66cf3f',
  time: 1679315147,
};
