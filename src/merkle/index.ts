/**
 * The Merkle core: RFC 6962 hashing, tree roots and proofs over stored perfect subtrees,
 * proof verification, and c2sp.org/tlog-tiles math. Pure and synchronous except for the
 * async provers, which read their nodes in one call. Safe to use in browsers.
 */
export { EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, useSha256, type Sha256Fn } from './hash.js';
export {
  Frontier,
  consistencyPlan,
  foldRange,
  inclusionPlan,
  proveConsistency,
  proveConsistencyAsync,
  proveInclusion,
  proveInclusionAsync,
  rangeNodes,
  treeRoot,
  treeRootAsync,
  type GetNode,
  type NodeId,
  type NodeReader,
} from './tree.js';
export {
  MAX_PROOF_HASHES,
  rootFromConsistency,
  rootFromInclusion,
  verifyConsistency,
  verifyInclusion,
} from './verify.js';
export {
  ExpandedTile,
  MAX_TILE_LEVEL,
  TILE_HEIGHT,
  TILE_WIDTH,
  formatTileIndex,
  formatTilePath,
  parseTileIndex,
  parseTilePath,
  tileForNode,
  tileHashPosition,
  tileWidth,
  tilesForSize,
  type TilePath,
} from './tiles.js';
